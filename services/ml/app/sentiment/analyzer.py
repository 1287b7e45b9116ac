"""VADER's ``SentimentIntensityAnalyzer`` in time linear in the text, with the same scores.

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
  whether the text ends there) as the rules see them (``WordForms``: most neighbours are just
  "in the lexicon" or not, most words just their lexicon value) and of the text's
  ``is_cap_diff``: it is computed once per distinct window (``_Valences``, kept between texts),
  with ``_negation_check`` and ``_special_idioms_check`` skipped when no token of their window
  is a word they react to;
- the text is cut into units (a plain token, or an emoji with what sticks to it), and a unit's
  tokens, their forms and which are lexicon words are worked out once per distinct unit; every
  pass over all tokens runs in C (``str.translate``, ``str.split``, ``itertools.chain``,
  ``compress``, ``zip``, ``map``), Python once per distinct unit and once per distinct window;
- only lexicon words can have a non-zero valence, and a zero changes neither the sums nor the
  contrastive-``but`` rule (which finds positions through an index of the values, not a scan):
  the other tokens are counted, not stored.

The tests compare its scores with the library's on generated texts and count its operations.
"""

import heapq
import math
from collections.abc import Iterable, Mapping
from itertools import chain, compress, islice
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
OTHER_RULE_WORDS: Final = (
    NEGATION_RULE_WORDS | frozenset(BOOSTER_DICT) | {"no", "or", "nor", "least", "at", "very"}
)
"""The rule words besides the idioms': negations, ``never so``, ``without doubt``, boosters,
``no`` (and ``no ... or/nor``), ``at least``/``very least``."""
RULE_WORDS: Final = OTHER_RULE_WORDS | IDIOM_WORDS
"""Every word (lower case) a rule of VADER compares a lexicon word's neighbours with, besides any
word containing ``n't``: negations, ``never so``, ``without doubt``, idioms, boosters, ``no`` (and
``no ... or/nor``), ``at least``/``very least``. A neighbour that is none of these only matters
by whether it is in the lexicon."""
MAX_WINDOWS_KEPT: Final = 100_000
"""Valences of windows an analyzer keeps between texts (a few MB at most)."""
INERT: Final = ""
"""What ``WordForms.context`` makes of a neighbour neither in the lexicon nor a rule word (no
token is empty, and the empty string is neither)."""

Window = tuple[str | None, str | None, str | None, str, str | None, str | None]
"""A word (index 3) with the three tokens before it and the two after it; ``None`` beyond the
ends of the text."""


IDIOM_NGRAMS: Final = ((-1, 0), (-2, -1, 0), (-2, -1), (-3, -2, -1), (-3, -2), (0, 1), (0, 1, 2))
"""The n-grams ``_special_idioms_check`` compares with idioms, as offsets from the scored word
(``onezero``, ``twoonezero``, ``twoone``, ``threetwoone``, ``threetwo``, ``zeroone``,
``zeroonetwo``)."""
_PHRASES: Final = [phrase.split(" ") for phrase in [*SPECIAL_CASES, *BOOSTER_DICT] if " " in phrase]


def _idiom_words_at(offset: int) -> frozenset[str]:
    # The words an idiom can have where an n-gram holds the token at `offset`.
    return frozenset(
        phrase[place]
        for ngram in IDIOM_NGRAMS
        for phrase in _PHRASES
        if len(phrase) == len(ngram)
        for place, at in enumerate(ngram)
        if at == offset
    )


SLOT_WORDS: Final = (
    *(OTHER_RULE_WORDS | {"n't"} | _idiom_words_at(offset) for offset in (-3, -2, -1)),
    frozenset(),
    *(_idiom_words_at(offset) for offset in (1, 2)),
)
"""For each place of a ``Window``, the forms (lower case) a rule can tell apart there: before the
scored word every rule word but the idioms' and ``n't``, and the idiom words an n-gram holds
there; after it, only those. Another form counts only by whether it is in the lexicon."""


def unit_table(emojis: Mapping[str, str]) -> dict[int, str]:
    """A ``str.translate`` table putting a space before each one-code-point emoji of ``emojis``
    (VADER's emoji lexicon: emoji → description), so that ``str.split`` cuts a text into *units*:
    plain tokens, and emoji each with what sticks to it up to the next whitespace or emoji. The
    library matches the text code point by code point: longer sequences never match, left out."""
    return {ord(char): " " + char for char in emojis if len(char) == 1}


def expand_unit(unit: str, emojis: Mapping[str, str]) -> tuple[str, ...]:
    """The tokens (``SentiText.words_and_emoticons``) one unit of a text stands for.

    ``polarity_scores`` replaces an emoji by its description with a space before it (unless a
    ``" "`` precedes it: a token boundary either way) and none after it, so the description's
    last word runs into what follows the emoji (``😹a`` → ``... of joya``). Each token is then
    stripped of leading and trailing punctuation unless two characters or fewer would remain
    (``SentiText._strip_punc_if_word``).
    """
    description = emojis.get(unit[0])
    words = [unit] if description is None else (description + unit[1:]).split()
    return tuple(SentiText._strip_punc_if_word(word) for word in words)


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


def rule_form(lowered: str, upper: bool) -> str:
    """A rule word (``lowered``, in ``RULE_WORDS``) as the rules see it: lower case, or upper case
    when the token was (``isupper()`` matters for boosters next to a word and for the word scored;
    rule words are ASCII, so the form lower-cases back to ``lowered``)."""
    return lowered.upper() if upper else lowered


class WordForms:
    """Tokens as VADER's rules see them, so that windows of different words and texts become
    equal and each is scored once (``_Valences``). Two tokens with the same form give the same
    valence wherever they stand, because the rules read:

    - a *neighbour* of the scored word only through ``.lower()`` compared with rule words,
      ``BOOSTER_DICT`` (with ``isupper()``), ``negated`` (``NEGATE``, ``n't``), membership of the
      lexicon, and n-grams compared with multi-word idioms (made of rule words only): its form is
      its ``rule_form``, else ``"n't"`` if it holds one (and is no lexicon word), else a lexicon
      word that is no rule word (``stand_in``) if it is in the lexicon, else ``INERT``;
    - the *scored word* through its lexicon value and ``isupper()`` (capitals emphasis), and as
      a rule word: its form is its ``rule_form``, else the first lexicon word (alphabetical, ASCII
      letters, no rule word) with the same value, in the same case.
    """

    def __init__(self, lexicon: Mapping[str, float]) -> None:
        """``lexicon``: VADER's, lower-case word → valence."""
        if INERT in lexicon or "n't" in lexicon:
            raise ValueError("the lexicon holds a word the forms stand for")
        self._lexicon = lexicon
        plain = sorted(
            word
            for word in lexicon
            if word.isascii() and word.isalpha() and word.islower() and word not in RULE_WORDS
        )
        self.stand_in: Final = plain[0]
        self._by_value: dict[float, str] = {}
        for word in plain:
            self._by_value.setdefault(lexicon[word], word)

    def context(self, distinct: Iterable[str]) -> dict[str, str]:
        """The form of each token of ``distinct`` as a neighbour of the scored word."""
        forms: dict[str, str] = {}
        for word in distinct:
            lowered = word.lower()
            if lowered in RULE_WORDS:
                forms[word] = rule_form(lowered, word.isupper())
            elif lowered in self._lexicon:
                forms[word] = self.stand_in
            elif "n't" in lowered:
                forms[word] = "n't"
            else:
                forms[word] = INERT
        return forms

    def after(self, distinct: Iterable[str]) -> dict[str, str]:
        """The form of each token of ``distinct`` as one of the two tokens *after* the scored
        word, which the rules read only in idioms (``_special_idioms_check``: its lower case if
        it is an idiom's word) and, after ``no``, by whether it is in the lexicon."""
        forms: dict[str, str] = {}
        for word in distinct:
            lowered = word.lower()
            if lowered in IDIOM_WORDS:
                forms[word] = lowered
            elif lowered in self._lexicon:
                forms[word] = self.stand_in
            else:
                forms[word] = INERT
        return forms

    def reduce(self, window: Window) -> Window:
        """``window`` with each neighbour no rule can tell apart at its place (``SLOT_WORDS``)
        replaced by ``stand_in`` or ``INERT``: the same valence, fewer windows to score.

        Further: the tokens after the word are read only in idioms with it (so only when it is
        an idiom's word) and after ``no``; and when neither the word nor any token before it is a
        rule word, no rule applies: the word's valence is its own (as alone in a text).
        """
        item = window[3]
        lowered_item = item.lower()
        before: list[str | None] = [None, None, None]
        rules_before = False
        for place in (0, 1, 2):
            form = before[place] = self._reduced_form(window[place], place)
            rules_before = rules_before or form not in (None, INERT, self.stand_in)
        if not rules_before and lowered_item not in RULE_WORDS:
            return (None, None, None, item, None, None)
        if lowered_item in IDIOM_WORDS or lowered_item == "no":
            after = (self._reduced_form(window[4], 4), self._reduced_form(window[5], 5))
        else:
            after = (INERT, INERT)
        return (before[0], before[1], before[2], item, after[0], after[1])

    def _reduced_form(self, form: str | None, place: int) -> str | None:
        if form is None or form == INERT or form == self.stand_in:
            return form
        lowered = form.lower()
        if lowered in SLOT_WORDS[place]:
            return form
        return self.stand_in if lowered in self._lexicon else INERT

    def item(self, scored: Iterable[str]) -> dict[str, str]:
        """The form of each lexicon word of ``scored`` as the word scored."""
        forms: dict[str, str] = {}
        for word in scored:
            lowered = word.lower()
            upper = word.isupper()
            if lowered in RULE_WORDS:
                forms[word] = rule_form(lowered, upper)
            else:
                same = self._by_value.get(self._lexicon[lowered])
                forms[word] = word if same is None else rule_form(same, upper)
        return forms


class _Window:
    """The part of a ``SentiText`` one word's rules can reach: what ``sentiment_valence`` reads
    (``words_and_emoticons`` and ``is_cap_diff``)."""

    __slots__ = ("is_cap_diff", "words_and_emoticons")

    def __init__(self, words: list[str], is_cap_diff: bool) -> None:
        self.words_and_emoticons = words
        self.is_cap_diff = is_cap_diff


class _Valences(dict[Window, float]):
    """The valence of a lexicon word by its ``Window`` in a text, computed by the library's
    ``sentiment_valence`` the first time a window is looked up (``__missing__``), or found under
    the window ``WordForms.reduce`` makes of it."""

    def __init__(
        self, analyzer: SentimentIntensityAnalyzer, forms: WordForms, *, is_cap_diff: bool
    ) -> None:
        super().__init__()
        self._analyzer = analyzer
        self._forms = forms
        self._is_cap_diff = is_cap_diff
        self._reduced: dict[Window, float] = {}

    def __missing__(self, window: Window) -> float:
        reduced = self._forms.reduce(window)
        valence = self._reduced.get(reduced)
        if valence is None:
            valence = self._reduced[reduced] = self._score(reduced)
        self[window] = valence
        return valence

    def _score(self, window: Window) -> float:
        item = window[3]
        after = window[4]
        if item.lower() == "kind" and after is not None and after.lower() == "of":
            return 0.0  # "kind of" is a booster: polarity_scores skips its "kind"
        start = 0
        while window[start] is None:
            start += 1
        words = [word for word in window if word is not None]
        sentitext = _Window(words, self._is_cap_diff)
        valence: float = self._analyzer.sentiment_valence(0, sentitext, item, 3 - start, [])[0]
        return valence

    def clear(self) -> None:
        """Forgets every window."""
        super().clear()
        self._reduced.clear()


def but_check(values: list[float], before: int) -> list[float]:
    """VADER's contrastive-conjunction rule (``SentimentIntensityAnalyzer._but_check``) with its
    exact results, in O(n log n) instead of O(n²), on the sentiments of a text's lexicon
    words in order (the other sentiments are zero); ``values[:before]`` stand before the first
    ``but``, the rest after it (``but`` is no lexicon word). Returns ``values``, changed in place.

    The library walks the sentiments and, for each value, rescales the *first* position holding an
    equal value (``list.index``): halved before the first ``but``, times 1.5 after it. For repeated
    values that is not the walked position, and the scores depend on it, so this keeps that rule.
    Only positions up to the walked one change, so the walk reads each value before any change,
    and the first position holding it is among those walked so far: ``walked`` keeps them in heaps
    by the value they hold now (O(n log n)). A zero only ever rescales a zero, to zero: zeros are
    skipped.
    """
    walked: dict[float, list[int]] = {}
    for index, value in enumerate(values):
        if not value:
            continue
        holding = walked.get(value)
        # The first position holding the value; index (the highest walked yet) holds it from now.
        first = heapq.heapreplace(holding, index) if holding else index
        changed = value * 0.5 if first < before else value * 1.5
        values[first] = changed
        target = walked.get(changed)
        if target is None:
            walked[changed] = [first]
        else:
            heapq.heappush(target, first)
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
        self._unit_table = unit_table(self.emojis)
        self._emoji_marks = {
            char: description
            for char, description in self.emojis.items()
            if len(char) == 1 and ("!" in description or "?" in description)
        }
        self._forms = WordForms(self.lexicon)
        if "but" in self.lexicon:
            raise ValueError("the lexicon holds 'but', which but_check assumes it does not")
        # Valences by window, kept from text to text (one table per value of is_cap_diff): the
        # forms keep the windows few; a bound keeps the memory bounded whatever texts come.
        self._valences = (
            _Valences(self, self._forms, is_cap_diff=False),
            _Valences(self, self._forms, is_cap_diff=True),
        )

    def polarity_scores(self, text: str) -> dict[str, float]:
        """The scores of ``text``: ``polarity_scores`` of vaderSentiment 3.3.2, step by step."""
        # Units (a plain token, or an emoji and what sticks to it) are expanded into tokens once
        # per distinct unit; the text's token sequence is the chain of its units' tokens.
        units = text.translate(self._unit_table).split()
        expansions = {unit: expand_unit(unit, self.emojis) for unit in set(units)}
        distinct = {token for tokens in expansions.values() for token in tokens}
        lexicon = self.lexicon
        scored = {
            token
            for token in distinct
            if (lowered := token.lower()) in lexicon and lowered not in BOOSTER_DICT
        }
        # Only lexicon words (not boosters) get a valence; every other token's is zero.
        context_forms = self._forms.context(distinct)
        after_forms = self._forms.after(distinct)
        item_forms = self._forms.item(scored)
        unit_scored: dict[str, tuple[bool, ...]] = {}
        unit_context: dict[str, tuple[str, ...]] = {}
        unit_after: dict[str, tuple[str, ...]] = {}
        unit_items: dict[str, tuple[str, ...]] = {}
        for unit, tokens in expansions.items():
            unit_scored[unit] = tuple(token in scored for token in tokens)
            unit_context[unit] = tuple(context_forms[token] for token in tokens)
            unit_after[unit] = tuple(after_forms[token] for token in tokens)
            unit_items[unit] = tuple(item_forms[token] for token in tokens if token in scored)
        is_scored = list(chain.from_iterable(map(unit_scored.__getitem__, units)))
        # The Window of each lexicon word: it and its neighbours as the rules see them (WordForms),
        # so that as many windows as can be are equal, and scored once.
        context: list[str | None] = [None] * WINDOW_BEFORE
        context += chain.from_iterable(map(unit_context.__getitem__, units))
        after: list[str | None] = list(chain.from_iterable(map(unit_after.__getitem__, units)))
        after += [None] * WINDOW_AFTER
        windows = zip(
            *(compress(islice(context, shift, None), is_scored) for shift in range(3)),
            chain.from_iterable(map(unit_items.__getitem__, units)),
            *(compress(islice(after, shift, None), is_scored) for shift in (1, 2)),
            strict=False,
        )
        valences = self._valences[cap_differential(distinct)]
        if len(valences) > MAX_WINDOWS_KEPT:
            valences.clear()
        values = list(map(valences.__getitem__, windows))
        with_but = [unit for unit, tokens in expansions.items() if "but" in map(str.lower, tokens)]
        if with_but:
            first = min(map(units.index, with_but))
            tokens_before = sum(map(len, map(expansions.__getitem__, islice(units, first))))
            within = [token.lower() for token in expansions[units[first]]].index("but")
            values = but_check(values, is_scored[: tokens_before + within].count(True))
        return self.sparse_score_valence(values, len(is_scored), self._emphasis_of(text))

    def _emphasis_of(self, text: str) -> str:
        # As many "!" and "?" as the library's text after its emoji pass (the only characters
        # _punctuation_emphasis counts): the text's, and those of the descriptions it holds.
        marks = {"!": text.count("!"), "?": text.count("?")}
        for char, description in self._emoji_marks.items():
            occurrences = text.count(char)
            for mark in marks:
                marks[mark] += occurrences * description.count(mark)
        return "!" * marks["!"] + "?" * marks["?"]

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
