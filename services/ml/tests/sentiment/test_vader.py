"""The model: VADER's published examples, the label thresholds, word counts."""

import pytest

from app.models.generated import SentimentLabel
from app.sentiment.vader import VaderModel, label_of, word_count

# The example sentences of the vaderSentiment README ("Code Examples") and the compound score its
# "Output for the above example code" documents for each.
README_EXAMPLES = [
    ("VADER is smart, handsome, and funny.", 0.8316),
    ("VADER is smart, handsome, and funny!", 0.8439),
    ("VADER is very smart, handsome, and funny.", 0.8545),
    ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
    ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
    ("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469),
    ("VADER is not smart, handsome, nor funny.", -0.7424),
    ("The book was good.", 0.4404),
    ("At least it isn't a horrible book.", 0.431),
    ("The book was only kind of good.", 0.3832),
    (
        "The plot was good, but the characters are uncompelling and the dialog is not great.",
        -0.7042,
    ),
    ("Today SUX!", -0.5461),
    ("Today only kinda sux! But I'll get by, lol", 0.5249),
    ("Make sure you :) or :D today!", 0.8633),
    ("Not bad at all", 0.431),
]


@pytest.mark.parametrize(("sentence", "compound"), README_EXAMPLES)
def test_scores_the_readme_examples_as_documented(
    model: VaderModel, sentence: str, compound: float
) -> None:
    assert model.score(sentence).scores.compound == compound


def test_labels_the_readme_examples_by_their_sign(model: VaderModel) -> None:
    labels = {model.score(sentence).label for sentence, compound in README_EXAMPLES if compound > 0}
    assert labels == {SentimentLabel.positive}
    assert model.score("Today SUX!").label is SentimentLabel.negative


def test_scores_the_readme_emoji_example_positive(model: VaderModel) -> None:
    # The README documents 0.7003 for this sentence, an output of an earlier release: the
    # released 3.3.2 package (pinned here) scores it 0.875. Only its polarity is asserted.
    result = model.score("Catch utf-8 emoji such as 💘 and 💋 and 😁")
    assert result.label is SentimentLabel.positive
    assert result.scores.compound == pytest.approx(0.875)


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (0.05, SentimentLabel.positive),
        (0.0499, SentimentLabel.neutral),
        (0.0, SentimentLabel.neutral),
        (-0.0499, SentimentLabel.neutral),
        (-0.05, SentimentLabel.negative),
        (1.0, SentimentLabel.positive),
        (-1.0, SentimentLabel.negative),
    ],
)
def test_labels_with_the_documented_thresholds(compound: float, label: SentimentLabel) -> None:
    assert label_of(compound) is label


@pytest.mark.parametrize(
    ("text", "words"),
    [("The book was good.", 4), ("  spaced\tout\nwords  ", 3), ("!!!", 1), (":) :D", 2)],
)
def test_counts_words_as_vader_splits_them(text: str, words: int) -> None:
    assert word_count(text) == words


def test_scores_deterministically_and_names_the_model(model: VaderModel) -> None:
    first = model.score("The espresso cup is lovely, but the handle is a bit small.")
    again = model.score("The espresso cup is lovely, but the handle is a bit small.")
    assert first == again
    assert first.wordCount == 12
    assert (first.model.name, first.model.version) == ("vader", "3.3.2")


def test_describes_the_model_with_its_citation(model: VaderModel) -> None:
    described = model.describe()
    assert described.languages == ["en"]
    assert "Hutto" in described.citation
    assert "ICWSM" in described.citation
