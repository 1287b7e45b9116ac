"""VADER's ``SentimentIntensityAnalyzer`` in time linear in the text, with the same scores.

vaderSentiment 3.3.2 (``vaderSentiment/vaderSentiment.py``, MIT licence) is quadratic in the
number of tokens of a text in two places:

- ``sentiment_valence`` calls ``_negation_check`` (up to three times) and ``_special_idioms_check``
  for every lexicon word preceded by a non-lexicon word, and each of them lower-cases the *whole*
  token list again to look at no more than three tokens before and two after the word;
- ``_but_check`` finds each sentiment's position with ``list.index``, a scan from the start.

Emoji make it worse: the emoji pass of ``polarity_scores`` replaces each emoji code point by its
description (``😀`` → ``grinning face``), so one character becomes two to seven tokens. 5,000
``😀`` are 10,000 tokens and 5,000 lexicon words, each paying two scans of 10,000 tokens: about
10 s on one core, against a few milliseconds for 5,000 characters of prose.

This subclass keeps every scoring rule of the library and changes only what those rules are
given and when they run:

- each word's rules see a window of the tokens they can reach (three before, two after) instead
  of the whole list; a word's valence is a function of that window, so a window seen before in
  the text is not scored again;
- ``_negation_check`` and ``_special_idioms_check`` are skipped when no token of their window is
  a word they react to (negations, ``so``/``this``/``never``/``without``/``doubt``, the words of
  the multi-word idioms and boosters): they would return the valence unchanged;
- the contrastive-``but`` rule finds positions through an index of the values, not a scan;
- the emoji pass builds its output with ``str.join``.

After it, scoring costs about 2 µs per token, whatever the text. The tests compare its scores with
the library's on generated texts and count its operations.
"""

import heapq
from collections.abc import Mapping
from typing import Any, Final

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
)

WINDOW_BEFORE: Final = 3
"""Tokens before a word that VADER's rules look at (``_negation_check``, idioms, ``no``)."""
WINDOW_AFTER: Final = 2
"""Tokens after a word that they look at (``_special_idioms_check``'s ``zeroonetwo``)."""


IDIOM_WORDS: Final = frozenset(
    word
    for phrase in [*SPECIAL_CASES, *BOOSTER_DICT]
    if " " in phrase
    for word in phrase.split(" ")
)
"""Every word of VADER's multi-word idioms and boosters (``the shit``, ``kind of`` ...): a token
can only take part in one of them if it is one of these words (tokens hold no spaces)."""
NEGATION_RULE_WORDS: Final = frozenset(NEGATE) | {"never", "so", "this", "without", "doubt"}
"""Every word ``_negation_check`` reacts to, besides any word containing ``n't``."""


def describe_emoji(text: str, emojis: Mapping[str, str]) -> str:
    """``text`` with each emoji code point replaced by its description, exactly as
    ``SentimentIntensityAnalyzer.polarity_scores`` does it (a space before a description unless
    one precedes it; multi-code-point sequences are matched code point by code point), in one
    pass: each character is looked up once and copied once.
    """
    parts: list[str] = []
    prev_space = True
    for char in text:
        description = emojis.get(char)
        if description is not None:
            if not prev_space:
                parts.append(" ")
            parts.append(description)
            prev_space = False
        else:
            parts.append(char)
            prev_space = char == " "
    return "".join(parts).strip()


class _Window:
    """The part of a ``SentiText`` one word's rules can reach: what ``sentiment_valence`` reads
    (``words_and_emoticons`` and ``is_cap_diff``)."""

    __slots__ = ("is_cap_diff", "words_and_emoticons")

    def __init__(self, words: list[str], is_cap_diff: bool) -> None:
        self.words_and_emoticons = words
        self.is_cap_diff = is_cap_diff


def but_check(lowered: list[str], sentiments: list[float]) -> list[float]:
    """VADER's contrastive-conjunction rule (``SentimentIntensityAnalyzer._but_check``) with its
    exact results, in O(n log n) instead of O(n²); ``lowered`` are the text's tokens in lower
    case.

    The library walks the sentiments and, for each value, rescales the *first* position holding an
    equal value (``list.index``): halved before the first ``but``, times 1.5 after it. For repeated
    values that is not the walked position, and the scores depend on it, so this keeps that rule:
    a heap of positions per value answers "first position holding this value" (positions whose
    value has changed since are dropped when they surface).
    """
    if "but" not in lowered:
        return sentiments
    but_index = lowered.index("but")
    positions: dict[float, list[int]] = {}
    for index, value in enumerate(sentiments):
        positions.setdefault(value, []).append(index)  # ascending: already a heap
    for walked in range(len(sentiments)):
        value = sentiments[walked]
        heap = positions[value]
        while sentiments[heap[0]] != value:
            heapq.heappop(heap)
        first = heap[0]
        if first < but_index:
            changed = value * 0.5
        elif first > but_index:
            changed = value * 1.5
        else:
            continue
        sentiments[first] = changed
        heapq.heappush(positions.setdefault(changed, []), first)
    return sentiments


def _any_of(words: list[str], vocabulary: frozenset[str], *, nt: bool = False) -> bool:
    """True when a word of ``words`` (lower-cased) is in ``vocabulary`` (or, with ``nt``,
    contains ``n't``)."""
    for word in words:
        lowered = word.lower()
        if lowered in vocabulary or (nt and "n't" in lowered):
            return True
    return False


class LinearSentimentIntensityAnalyzer(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """``SentimentIntensityAnalyzer`` whose ``polarity_scores`` costs time linear in the text
    (O(n log n) with a ``but``) and returns the same dict: ``neg``, ``neu``, ``pos`` (rounded to 3
    places) and ``compound`` (4 places)."""

    def polarity_scores(self, text: str) -> dict[str, float]:
        """The scores of ``text``: ``polarity_scores`` of vaderSentiment 3.3.2, step by step."""
        text = describe_emoji(text, self.emojis)
        sentitext = SentiText(text)
        words: list[str] = sentitext.words_and_emoticons
        sentiments: list[Any] = []
        # A word's valence depends only on the tokens its rules reach and its place among them
        # (and on the text's is_cap_diff, fixed here): repeated phrases are scored once.
        seen: dict[tuple[Any, ...], Any] = {}
        lowered = [word.lower() for word in words]
        last = len(words) - 1
        for i, item in enumerate(words):
            if lowered[i] in BOOSTER_DICT or (
                i < last and lowered[i] == "kind" and lowered[i + 1] == "of"
            ):
                sentiments.append(0)
                continue
            start = i - WINDOW_BEFORE if i > WINDOW_BEFORE else 0
            reach: tuple[Any, ...] = (i - start, *words[start : i + WINDOW_AFTER + 1])
            valence = seen.get(reach)
            if valence is None:
                window = _Window(list(reach[1:]), sentitext.is_cap_diff)
                valence = self.sentiment_valence(0, window, item, reach[0], [])[0]
                seen[reach] = valence
            sentiments.append(valence)
        sentiments = but_check(lowered, sentiments)
        scores: dict[str, float] = self.score_valence(sentiments, text)
        return scores

    @staticmethod
    def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
        # The library's rule, skipped when none of the three tokens before the word can trigger
        # it (most words: the rule is about a third of the cost of a word otherwise).
        if not _any_of(words[max(0, i - 3) : i], NEGATION_RULE_WORDS, nt=True):
            return valence
        result: float = SentimentIntensityAnalyzer._negation_check(valence, words, start_i, i)
        return result

    @staticmethod
    def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
        # The library's rule, skipped when no token it reads belongs to an idiom.
        if not _any_of(words[max(0, i - 3) : i + 3], IDIOM_WORDS):
            return valence
        result: float = SentimentIntensityAnalyzer._special_idioms_check(valence, words, i)
        return result
