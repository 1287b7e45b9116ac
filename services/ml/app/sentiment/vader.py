"""VADER sentiment scores, typed and shaped as the contract's ``SentimentResult``.

VADER (Valence Aware Dictionary and sEntiment Reasoner) is a lexicon and rule-based sentiment
analysis model attuned to social media text; its lexicon ships inside the ``vaderSentiment``
package, so nothing is downloaded at run time. Cite it as:

    Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for Sentiment
    Analysis of Social Media Text. Eighth International Conference on Weblogs and Social Media
    (ICWSM-14). Ann Arbor, MI, June 2014.

The label follows the thresholds of the VADER documentation: positive when ``compound >= 0.05``,
negative when ``compound <= -0.05``, else neutral.
"""

from importlib.metadata import version
from typing import Final, NamedTuple

from app.models.generated import (
    Language,
    Model,
    ModelRef,
    SentimentLabel,
    SentimentResult,
    SentimentScores,
)
from app.sentiment.analyzer import LinearSentimentIntensityAnalyzer

POSITIVE_THRESHOLD: Final = 0.05
"""``compound`` at or above which a text is labelled positive (VADER documentation)."""
NEGATIVE_THRESHOLD: Final = -0.05
"""``compound`` at or below which a text is labelled negative (VADER documentation)."""

CITATION: Final = (
    "Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for Sentiment "
    "Analysis of Social Media Text. Eighth International Conference on Weblogs and Social Media "
    "(ICWSM-14). Ann Arbor, MI, June 2014."
)


def label_of(compound: float) -> SentimentLabel:
    """The label of a ``compound`` score (thresholds ±0.05)."""
    if compound >= POSITIVE_THRESHOLD:
        return SentimentLabel.positive
    if compound <= NEGATIVE_THRESHOLD:
        return SentimentLabel.negative
    return SentimentLabel.neutral


def word_count(text: str) -> int:
    """Words as VADER splits a text: its whitespace-separated tokens, emoticons included."""
    return len(text.split())


class RawScores(NamedTuple):
    """What scoring a text yields, small to pass between processes."""

    compound: float
    positive: float
    negative: float
    neutral: float
    word_count: int


class VaderModel:
    """The VADER model, loaded once (the lexicon is read when it is created, ~0.1 s).

    Scoring is deterministic: the same text always gets the same result, which the review
    consumer's idempotency relies on.
    """

    name: Final = "vader"

    def __init__(self) -> None:
        self._analyzer = LinearSentimentIntensityAnalyzer()
        self.version: Final = version("vaderSentiment")
        self.ref: Final = ModelRef(name=self.name, version=self.version)

    def describe(self) -> Model:
        """The model as ``GET /ml/models`` lists it."""
        return Model(
            name=self.name,
            version=self.version,
            description=(
                "VADER (Valence Aware Dictionary and sEntiment Reasoner): lexicon and rule-based "
                "sentiment analysis attuned to sentiments expressed in social media."
            ),
            languages=[Language.en],
            citation=CITATION,
        )

    def raw_scores(self, text: str) -> RawScores:
        """The scores of ``text`` (English), computed here: CPU-bound, linear in the text
        (``app.sentiment.analyzer``): under a millisecond for 5,000 characters of prose, under
        10 ms for the costliest 5,000 emoji."""
        raw = self._analyzer.polarity_scores(text)
        return RawScores(raw["compound"], raw["pos"], raw["neg"], raw["neu"], word_count(text))

    def result(self, raw: RawScores) -> SentimentResult:
        """``raw`` as the contract's ``SentimentResult``."""
        return SentimentResult(
            scores=SentimentScores(
                compound=raw.compound,
                positive=raw.positive,
                negative=raw.negative,
                neutral=raw.neutral,
            ),
            label=label_of(raw.compound),
            wordCount=raw.word_count,
            model=self.ref,
        )

    def score(self, text: str) -> SentimentResult:
        """The sentiment of ``text`` (English), computed in this thread: the service scores in
        worker processes instead (``app.sentiment.pool``)."""
        return self.result(self.raw_scores(text))
