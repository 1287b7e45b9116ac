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
from typing import Final, cast

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from app.models.generated import (
    Language,
    Model,
    ModelRef,
    SentimentLabel,
    SentimentResult,
    SentimentScores,
)

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


class VaderModel:
    """The VADER model, loaded once (the lexicon is read when it is created, ~0.1 s).

    Scoring is deterministic: the same text always gets the same result, which the review
    consumer's idempotency relies on.
    """

    name: Final = "vader"

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
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

    def score(self, text: str) -> SentimentResult:
        """The sentiment of ``text`` (English)."""
        raw = cast(dict[str, float], self._analyzer.polarity_scores(text))
        scores = SentimentScores(
            compound=raw["compound"],
            positive=raw["pos"],
            negative=raw["neg"],
            neutral=raw["neu"],
        )
        return SentimentResult(
            scores=scores,
            label=label_of(scores.compound),
            wordCount=word_count(text),
            model=self.ref,
        )
