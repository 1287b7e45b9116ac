"""The linear-time analyzer: the library's scores on generated texts, and work that grows with the
text (counted in function calls, not timed) where the library's grows with its square."""

import random
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, SentiText

from app.sentiment.analyzer import (
    LinearSentimentIntensityAnalyzer,
    but_check,
    expand_unit,
    unit_table,
)

REFERENCE = SentimentIntensityAnalyzer()
LINEAR = LinearSentimentIntensityAnalyzer()

# Words every rule of VADER reacts to: lexicon words, boosters, negations, idioms, "but", "kind
# of", "least", emoticons, capitals, punctuation emphasis, emoji (with lexicon words in their
# descriptions, and one whose description is an idiom's word).
_TRICKY_GROUPS = (
    "good bad great horrible funny smart love hate lol sux ok",
    "GOOD BAD GREAT VERY SMART FUNNY",
    "very extremely so really kinda barely hardly sort kind of just enough",
    "not no never nor isn't don't without doubt least at this uh-uh",
    "but BUT the shit bomb bad ass yeah right kiss death to die for beating heart",
    ":) :( :D <3 ! !! !!! ? ?? ... , .",
    "😀 😂 😦 💘 💔 😢 👍 🈶 🙃",
)
TRICKY_WORDS = [word for group in _TRICKY_GROUPS for word in group.split()]
SEPARATORS = [" ", " ", " ", "", ", ", "  ", "\n", "! "]


@st.composite
def tricky_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(TRICKY_WORDS), max_size=30))
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(words)))
    return "".join(word + separator for word, separator in zip(words, separators, strict=False))


@settings(max_examples=600, deadline=None)
@given(tricky_texts())
def test_scores_tricky_texts_as_the_library_does(text: str) -> None:
    assert LINEAR.polarity_scores(text) == REFERENCE.polarity_scores(text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_scores_any_text_as_the_library_does(text: str) -> None:
    assert LINEAR.polarity_scores(text) == REFERENCE.polarity_scores(text)


# Emoji whose descriptions hold lexicon words, rule words ("but", "not", "of", "with"), capitals
# ("OK", "ON!"), punctuation, or one token only; and what may stand next to them.
EMOJI = "😹😸😂😄😊🥰😙😥😱👌🈶😁🤣😀😦💔😢🔛🆙🔥👍🙃"
_NEXT_TO_EMOJI = (
    "good bad GREAT love hate very extremely so kind of sort not no never isn't without doubt "
    "least at but BUT the shit bomb bad ass yeah right :) ! ? , . a"
)
EMOJI_NEIGHBOURS = [
    *_NEXT_TO_EMOJI.split(),
    # Idioms and multi-word rules, whole (drawn word by word they rarely meet).
    "kind of good",
    "sort of bad",
    "the shit",
    "bad ass",
    "yeah right",
    "kiss of death",
    "never so good",
    "without a doubt",
    "at least good",
    "no or bad",
]
# "" fuses an emoji's last description word with what follows it ("joy" + "a" → "joya").
EMOJI_SEPARATORS = ["", "", "", " ", " ", "  ", "\n", "!", "? "]


@st.composite
def emoji_texts(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(st.one_of(st.sampled_from(EMOJI), st.sampled_from(EMOJI_NEIGHBOURS)), max_size=80)
    )
    separators = draw(st.lists(st.sampled_from(EMOJI_SEPARATORS), min_size=len(pieces)))
    return "".join(piece + separator for piece, separator in zip(pieces, separators, strict=False))


@settings(max_examples=800, deadline=None)
@given(emoji_texts())
def test_scores_emoji_among_words_as_the_library_does(text: str) -> None:
    assert LINEAR.polarity_scores(text) == REFERENCE.polarity_scores(text)


def seeded_emoji_text(seed: int, length: int) -> str:
    """``length`` pieces: long runs of one emoji, random emoji, rule words and separators."""
    rng = random.Random(seed)  # noqa: S311  # test data, not secrets
    parts: list[str] = []
    while len(parts) < length:
        kind = rng.random()
        if kind < 0.3:
            parts.append(rng.choice(EMOJI) * rng.randint(5, 60))
        elif kind < 0.7:
            parts.append(rng.choice(EMOJI))
        else:
            parts.append(rng.choice(EMOJI_NEIGHBOURS))
        parts.append(rng.choice(EMOJI_SEPARATORS))
    return "".join(parts)


@pytest.mark.parametrize("seed", range(12))
def test_scores_long_emoji_texts_as_the_library_does(seed: int) -> None:
    text = seeded_emoji_text(seed, 120)
    assert LINEAR.polarity_scores(text) == REFERENCE.polarity_scores(text)


@pytest.mark.parametrize("emoji", ["😹", "😸", "😥", "🈶", "👌", "🔛"])
@pytest.mark.parametrize("before", ["", "not ", "VERY ", "no ", "but ", "least "])
def test_scores_a_run_of_one_emoji_after_a_rule_word_as_the_library_does(
    emoji: str, before: str
) -> None:
    text = before + emoji * 150 + " but good"
    assert LINEAR.polarity_scores(text) == REFERENCE.polarity_scores(text)


def library_emoji_text(text: str) -> str:
    """The text the library scores after its emoji pass (``polarity_scores``' first loop)."""
    out = ""
    prev_space = True
    for char in text:
        if char in REFERENCE.emojis:
            out += ("" if prev_space else " ") + REFERENCE.emojis[char]
            prev_space = False
        else:
            out += char
            prev_space = char == " "
    return out.strip()


@pytest.mark.parametrize(
    "text", [" a😀b 💘 ", "😀😀", "x\n😀!🔛?🆙\t😥", "😹a😹, ok😹:)", "", "  "]
)
def test_cuts_a_text_into_the_library_s_tokens(text: str) -> None:
    # Units expanded one by one: the tokens the library gets from its emoji pass and SentiText.
    units = text.translate(unit_table(REFERENCE.emojis)).split()
    tokens = [token for unit in units for token in expand_unit(unit, REFERENCE.emojis)]
    assert tokens == SentiText(library_emoji_text(text)).words_and_emoticons


def test_halves_before_the_first_but_and_raises_after_it_at_the_first_equal_value() -> None:
    # The library's list.index quirk: position 0 becomes 1.0, so the walk's 1.0 at position 1
    # rescales position 0 again and position 1 keeps its value.
    words = ["a", "b", "but", "c", "d"]
    assert but_check([2.0, 1.0, 3.0, 3.0], 2) == [0.5, 1.0, 4.5, 4.5]
    assert REFERENCE._but_check(words, [2.0, 1.0, 0, 3.0, 3.0]) == [0.5, 1.0, 0, 4.5, 4.5]
    # Zeros given or left out: the same result.
    assert but_check([1.0, 0.0, 1.0], 1) == [0.5, 0.0, 1.5]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from([0.0, 1.0, 2.0, 0.5, 1.5, 2.25, 3.0, 0.75, -1.0, -0.5, -1.5]), max_size=40
    ),
    st.integers(min_value=0, max_value=40),
)
def test_rescales_as_the_library_does(sentiments: list[float], but_index: int) -> None:
    # Values that are halves and times 1.5 of each other: the walk keeps meeting rescaled ones.
    but_index = min(but_index, len(sentiments))
    words = ["w"] * len(sentiments)
    words.insert(but_index, "but")
    library = REFERENCE._but_check(words, [*sentiments[:but_index], 0, *sentiments[but_index:]])
    del library[but_index]
    assert but_check(list(sentiments), but_index) == library


def calls_made(score: Callable[[str], Any], text: str) -> int:
    """Python and built-in function calls made while scoring ``text``: a measure of the work
    that does not depend on the machine or its load."""
    calls = 0

    def count(_frame: FrameType, event: str, _arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        score(text)
    finally:
        sys.setprofile(None)
    return calls


def emoji_text(length: int, seed: int = 7) -> str:
    """``length`` emoji drawn from those whose descriptions hold lexicon words, in a random
    order (so that repeated windows do not make it cheap)."""
    heavy = ["😂", "😦", "🥰", "😸", "🤣", "😀", "😢", "💔", "🈶", "😻", "🤭", "😹"]
    rng = random.Random(seed)  # noqa: S311  # test data, not secrets
    return "".join(rng.choice(heavy) for _ in range(length))


@pytest.mark.parametrize("prefix", ["", "but "])
def test_work_grows_linearly_with_emoji(prefix: str) -> None:
    short = calls_made(LINEAR.polarity_scores, prefix + emoji_text(400))
    long = calls_made(LINEAR.polarity_scores, prefix + emoji_text(1600))
    assert long <= 4.4 * short


def test_the_library_s_work_grows_with_the_square_of_emoji() -> None:
    # What the test above guards against: the measure sees the library's quadratic cost.
    short = calls_made(REFERENCE.polarity_scores, emoji_text(80))
    long = calls_made(REFERENCE.polarity_scores, emoji_text(320))
    assert long >= 10 * short


def test_scores_a_long_emoji_text_as_the_library_does() -> None:
    text = "but " + emoji_text(600)
    assert LINEAR.polarity_scores(text) == REFERENCE.polarity_scores(text)
