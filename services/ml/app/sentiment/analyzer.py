"""VADER's ``SentimentIntensityAnalyzer`` in time linear in the text, with the same scores, and
per token about as cheap for emoji descriptions as for prose.

vaderSentiment 3.3.2 (``vaderSentiment/vaderSentiment.py``, MIT licence) is quadratic in the
number of tokens of a text in two places:

- ``sentiment_valence`` calls ``_negation_check`` (up to three times) and ``_special_idioms_check``
  for every lexicon word preceded by a non-lexicon word, and each of them lower-cases the *whole*
  token list again to look at no more than three tokens before and two after the word;
- ``_but_check`` finds each sentiment's position with ``list.index``, a scan from the start.

Emoji make it worse: the emoji pass of ``polarity_scores`` replaces each emoji code point by its
description (``😹`` → ``cat face with tears of joy``), so one character becomes up to six tokens:
5,000 emoji are 30,000 tokens, against about 900 for 5,000 characters of prose.

This subclass keeps every scoring rule of the library and changes only what those rules are
given and when they run:

- a word's valence is a function of the tokens its rules can reach (three before, two after, and
  whether the text ends there) and of the text's ``is_cap_diff``: it is computed once per distinct
  window (``_Valences``), with ``_negation_check`` and ``_special_idioms_check`` skipped when no
  token of their window is a word they react to;
- every pass over all tokens runs in C (``str.translate``, ``str.split``, ``map``, ``zip``,
  ``itertools.compress``); Python code runs once per *distinct* token (stripping punctuation,
  capitals, lexicon look-up) and once per distinct window, so 30,000 tokens made of a few
  emoji descriptions cost little more than their C passes;
- only lexicon words can have a non-zero valence, and a zero changes neither the sums nor the
  contrastive-``but`` rule (which finds positions through an index of the values, not a scan):
  the other tokens are counted, not stored.

The tests compare its scores with the library's on generated texts and count its operations.
"""

import heapq
import math
from collections.abc import Iterable, Mapping
from itertools import compress, islice
from typing import Final

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
    normalize,
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

Window = tuple[str | None, str | None, str | None, str, str | None, str | None]
"""A word (index 3) with the three tokens before it and the two after it; ``None`` beyond the
ends of the text."""


def emoji_table(emojis: Mapping[str, str]) -> dict[int, str]:
    """A ``str.translate`` table replacing each one-code-point emoji of ``emojis`` (VADER's emoji
    lexicon: emoji → description) by a space and its description. The library matches the text
    code point by code point, so longer sequences never match and are left out."""
    return {ord(char): " " + description for char, description in emojis.items() if len(char) == 1}


def describe_emoji(text: str, table: Mapping[int, str]) -> str:
    """``text`` with each emoji replaced by its description (``table``: ``emoji_table``), in C.

    ``SentimentIntensityAnalyzer.polarity_scores`` puts a space before a description only when
    no ``" "`` precedes it; this always does. Extra whitespace next to whitespace or at an end is
    all the difference: the same tokens (``str.split``) and the same other characters (the
    ``!`` and ``?`` that VADER counts).
    """
    return text.translate(table)


def tokens_of(text: str) -> list[str]:
    """``SentiText(text).words_and_emoticons``: the whitespace-separated tokens of ``text``,
    leading and trailing punctuation stripped unless two characters or fewer would remain
    (``SentiText._strip_punc_if_word``), which is decided once per distinct token."""
    words = text.split()
    stripped: dict[str, str] = {}
    for word in set(words):
        token: str = SentiText._strip_punc_if_word(word)
        if token != word:
            stripped[word] = token
    if stripped:
        words = list(map(stripped.get, words, words))
    return words


def cap_differential(distinct: Iterable[str]) -> bool:
    """VADER's ``allcap_differential`` from the distinct tokens of a text: true when some but not
    all tokens are in capitals (``0 < tokens - capitalised < tokens``)."""
    upper = lower = False
    for word in distinct:
        if word.isupper():
            upper = True
        else:
            lower = True
    return upper and lower


class _Window:
    """The part of a ``SentiText`` one word's rules can reach: what ``sentiment_valence`` reads
    (``words_and_emoticons`` and ``is_cap_diff``)."""

    __slots__ = ("is_cap_diff", "words_and_emoticons")

    def __init__(self, words: list[str], is_cap_diff: bool) -> None:
        self.words_and_emoticons = words
        self.is_cap_diff = is_cap_diff


class _Valences(dict[Window, float]):
    """The valence of a lexicon word by its ``Window`` in a text, computed by the library's
    ``sentiment_valence`` the first time a window is looked up (``__missing__``)."""

    def __init__(self, analyzer: SentimentIntensityAnalyzer, is_cap_diff: bool) -> None:
        super().__init__()
        self._analyzer = analyzer
        self._is_cap_diff = is_cap_diff

    def __missing__(self, window: Window) -> float:
        item = window[3]
        after = window[4]
        if item.lower() == "kind" and after is not None and after.lower() == "of":
            valence = 0.0  # "kind of" is a booster: polarity_scores skips its "kind"
        else:
            start = 0
            while window[start] is None:
                start += 1
            words = [word for word in window if word is not None]
            sentitext = _Window(words, self._is_cap_diff)
            valence = self._analyzer.sentiment_valence(0, sentitext, item, 3 - start, [])[0]
        self[window] = valence
        return valence


def but_check(values: list[float], positions: list[int], but_index: int) -> list[float]:
    """VADER's contrastive-conjunction rule (``SentimentIntensityAnalyzer._but_check``) with its
    exact results, in O(n log n) instead of O(n²), on the sentiments at ``positions`` (ascending)
    of a text whose other sentiments are zero; ``but_index`` is the position of its first
    ``but``. Returns ``values``, changed in place.

    The library walks the sentiments and, for each value, rescales the *first* position holding an
    equal value (``list.index``): halved before the first ``but``, times 1.5 after it. For repeated
    values that is not the walked position, and the scores depend on it, so this keeps that rule:
    a heap of indexes per value answers "first position holding this value" (indexes whose value
    has changed since are dropped when they surface). A zero only ever rescales a zero, to zero:
    zeros are skipped, which is why the others need not be given.
    """
    indexes: dict[float, list[int]] = {}
    for index, value in enumerate(values):
        if value:
            indexes.setdefault(value, []).append(index)  # ascending: already a heap
    for walked in range(len(values)):
        value = values[walked]
        if not value:
            continue
        heap = indexes[value]
        while values[heap[0]] != value:
            heapq.heappop(heap)
        first = heap[0]
        if positions[first] < but_index:
            changed = value * 0.5
        elif positions[first] > but_index:
            changed = value * 1.5
        else:
            continue
        values[first] = changed
        heapq.heappush(indexes.setdefault(changed, []), first)
    return values


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

    def __init__(self) -> None:
        super().__init__()
        self._emoji_table = emoji_table(self.emojis)

    def polarity_scores(self, text: str) -> dict[str, float]:
        """The scores of ``text``: ``polarity_scores`` of vaderSentiment 3.3.2, step by step."""
        text = describe_emoji(text, self._emoji_table)
        words = tokens_of(text)
        distinct = set(words)
        lexicon = self.lexicon
        scored = {
            word
            for word in distinct
            if (lowered := word.lower()) in lexicon and lowered not in BOOSTER_DICT
        }
        # Only lexicon words (not boosters) get a valence; every other token's is zero.
        is_scored = list(map(scored.__contains__, words))
        padded: list[str | None] = [None] * WINDOW_BEFORE + list(words) + [None] * WINDOW_AFTER
        # Each token's Window (zip stops at the last token's).
        windows = zip(padded, *(islice(padded, shift, None) for shift in range(1, 6)), strict=False)
        valences = _Valences(self, cap_differential(distinct))
        values = list(map(valences.__getitem__, compress(windows, is_scored)))
        buts = [word for word in distinct if word.lower() == "but"]
        if buts:
            positions = list(compress(range(len(words)), is_scored))
            values = but_check(values, positions, min(map(words.index, buts)))
        return self.sparse_score_valence(values, len(words), text)

    def sparse_score_valence(self, values: list[float], tokens: int, text: str) -> dict[str, float]:
        """The library's ``score_valence(sentiments, text)`` for a text of ``tokens`` tokens whose
        sentiments are ``values`` (in order) and zeros: a zero adds nothing to the sums, only to
        the neutral count, so the same operations on ``values`` give the same floats."""
        if not tokens:
            return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
        sum_s = float(sum(values))
        punct_emph_amplifier: float = self._punctuation_emphasis(text)
        if sum_s > 0:
            sum_s += punct_emph_amplifier
        elif sum_s < 0:
            sum_s -= punct_emph_amplifier
        compound: float = normalize(sum_s)
        pos_sum, neg_sum, neu_count = self._sift_sentiment_scores(values)
        neu_count += tokens - len(values)
        if pos_sum > math.fabs(neg_sum):
            pos_sum += punct_emph_amplifier
        elif pos_sum < math.fabs(neg_sum):
            neg_sum -= punct_emph_amplifier
        total = pos_sum + math.fabs(neg_sum) + neu_count
        return {
            "neg": round(math.fabs(neg_sum / total), 3),
            "neu": round(math.fabs(neu_count / total), 3),
            "pos": round(math.fabs(pos_sum / total), 3),
            "compound": round(compound, 4),
        }

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
