"""Named entities: a CRF tagger for people, organisations and places, and name normalisation.

The tagger is a linear-chain CRF (python-crfsuite) trained by ``training/train_entities.py`` on
GermEval 2014 (dev + public test). Its features are word form, shape and affixes, word clusters
learned from CC BY text (GermEval, SmartData), word frequency bands (wordfreq), and gazetteers
(Wiktionary and Faker first names and surnames, Wiktionary place names, GeoNames cities, ISO
countries and regions); names GermEval annotates are a back-off list.
Model and features ship in ``data/entities_de.*``; at run time the model is decoded with numpy,
many sentences at once (:mod:`.crf`: the same tags as CRFsuite's own tagger). Mentions are then
normalised to one name per entity per article (:class:`Normalizer`).
"""

from __future__ import annotations

import gc
import gzip
import re
import threading
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import pairwise

import numpy as np

from .. import caches
from ..text.names import name_key
from .crf import LinearChainCRF
from .names import adjust_spans, shipped_names, strip_roles

#: The labels facets use; the model also knows OTH (titles, events, ...), which is not kept.
LABELS = ("PER", "ORG", "LOC")
LEXICON_RESOURCE = "entities_de.tsv.gz"
MODEL_RESOURCE = "entities_de.crfsuite"

# Tokens as GermEval has them, so the tagger sees at run time what it was trained on:
# abbreviations, initials (E.), Roman (II.) and day (9.) ordinals keep their period; numbers keep
# their inner separators and a unit or suffix (1980er, 3km); words keep inner hyphens, slashes and
# apostrophes, a leading hyphen ("und -Richtlinien") and a trailing one before a space
# ("Staats- und Parteichef"); any other character is a token of its own.
_ABBREVIATION = (
    r"(?:Dr|Prof|St|Nr|Hl|bzw|ca|vgl|Mio|Mrd|Abs|Art|Str|ggf|inkl|engl|franz|lat|griech|geb|gest"
    r"|Jh|Jhd|usw|evtl|insb|Co|u\.a|d\.h|z\.B|Z\.B|z\.T|u\.U|o\.ä)\.(?!\w)"
)
_TOKEN = re.compile(
    _ABBREVIATION
    + r"|(?:[A-ZÄÖÜ]|[IVX]{1,5})\.(?!\w)|\d{1,2}\.(?=\s+\S)"
    + r"|\d+(?:[.,:/–-]\d+)*[^\W\d_]*(?:-\w+)*(?:-(?=\s))?"
    + r"|(?<!\S)-(?=[^\W\d_])\w+(?:[-'’&]\w+)*"
    + r"|\w+(?:[-'’&/]\w+)*(?:\.(?=\w)\w+)*(?:-(?=\s))?"
    + r"|[^\w\s]"
)
_SENTENCE_END = {".", "!", "?"}
_BLANK_LINE = re.compile(r"\n\n")
_ABBREVIATIONS = {
    "Dr",
    "Prof",
    "Nr",
    "St",
    "Hl",
    "bzw",
    "ca",
    "vgl",
    "Mio",
    "Mrd",
    "Abs",
    "Art",
    "Str",
    "ggf",
    "inkl",
    "Hrsg",
    "Kap",
    "dt",
    "engl",
    "Chr",
    "ff",
    "geb",
    "gest",
    "Jh",
}
_CLOSERS = {'"', "“", "”", "»", "«", "'", "’", ")", "]"}
_UPPER = re.compile(r"[A-ZÄÖÜ]")
_LOWER = re.compile(r"[a-zäöüß]")
_DIGIT = re.compile(r"[0-9]")
_REPEAT = re.compile(r"(.)\1+")
_OFFSETS = (-2, -1, 1, 2)
#: (offset, prefix): a word lends a word ``off`` away its context features as f"{-off}{feature}"
_LENT = tuple((off, str(-off)) for off in _OFFSETS)


@dataclass(frozen=True)
class Entity:
    """A mention: surface ``text`` at ``start:end``, its ``label`` and normalised ``name``."""

    text: str
    label: str
    start: int
    end: int
    name: str


def tokenize(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``text``."""
    return [m.span() for m in _TOKEN.finditer(text)]


def sentences(text: str, spans: Sequence[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Group token spans into sentences (the rules: :func:`sentence_starts`)."""
    starts = sentence_starts(text, spans, [text[a:b] for a, b in spans])
    return [list(spans[a:b]) for a, b in pairwise(starts)]


def sentence_starts(text: str, spans: Sequence[tuple[int, int]], words: Sequence[str]) -> list[int]:
    """Where each sentence of :func:`sentences` starts (token indices), then ``len(spans)``.

    A sentence ends after . ! ? and the closing quotes and brackets after them, unless the stop
    ends an abbreviation or a lower-case word follows; at a blank line; and at 200 tokens. Only
    the tokens where one of these can happen are looked at, not every token.
    """
    n = len(spans)
    if not n:
        return []
    # tokens with a blank line before them (no token holds whitespace), and the stops; n ends both
    blank = [bisect_right(spans, (m.start(), -1)) for m in _BLANK_LINE.finditer(text)]
    blanks = set(blank)
    blank.append(n)
    stops = [i for i, w in enumerate(words) if w in _SENTENCE_END]
    stops.append(n)
    out = [0]
    start = i = b = t = (
        0  # the sentence starts at ``start``; token ``i`` is next; the next blank line and stop
    )
    closing = False  # the sentence has ended; closing quotes and brackets still belong to it
    while i < n:
        if not closing:
            # the tokens up to the next stop, blank line or 200th token only join the sentence
            while (
                blank[b] <= start or blank[b] < i
            ):  # a blank line before a sentence's first token splits nothing
                b += 1
            while stops[t] < i:
                t += 1
            i = min(blank[b], stops[t], max(i, start + 199))
            if i >= n:
                break
        word = words[i]
        if start < i and ((closing and word not in _CLOSERS) or i in blanks):
            out.append(start := i)
            closing = False
        if closing or word not in _SENTENCE_END:
            if i - start + 1 >= 200:
                out.append(start := i + 1)
                closing = False
            i += 1
            continue
        before = words[i - 1] if i else ""
        # "Dr. Merkel", "z. B.", "Andreas R. sagte", "3. Oktober": no sentence end there
        abbreviation = word == "." and (
            before in _ABBREVIATIONS
            or (len(before) == 1 and before.isalpha())
            or (before.isdigit() and len(before) <= 2)
        )
        if not abbreviation and (i + 1 == n or not text[spans[i + 1][0]].islower()):
            closing = True
        i += 1
    if out[-1] != n:
        out.append(n)
    return out


class Lexicon:
    """Word clusters and gazetteers the features read (``data/entities_de.tsv.gz``)."""

    def __init__(self, text: str) -> None:
        sections = {}
        for chunk in ("\n" + text).split("\n## ")[1:]:
            head, _, body = chunk.partition("\n")
            sections[head.split(":")[0]] = [
                row.split("\t") for row in body.split("\n") if row and row[:2] != "# "
            ]
        # comprehensions over whole sections: every worker process loads this at start
        self.clusters: dict[str, tuple[str, ...]] = {
            f[0]: tuple(f[1:]) for f in sections.get("clusters", ())
        }
        self.gazetteer: dict[str, tuple[str, ...]] = {
            f[0]: tuple(f[1].split(",")) for f in sections.get("gazetteer", ())
        }
        self.nouns: set[str] = {f[0] for f in sections.get("nouns", ())}
        #: names annotated in the training data, mostly as entities: (tokens) -> label
        self.names: dict[tuple[str, ...], str] = {
            tuple(f[0].split(" ")): f[1] for f in sections.get("names", ())
        }
        #: lower-cased word -> frequency band in general German text (absent: rare or unknown)
        self.freq: dict[str, str] = {f[0]: f[1] for f in sections.get("freq", ())}

    @classmethod
    def load(cls, path=None) -> Lexicon:
        """Read the shipped lexicon (or the one at ``path``)."""
        source = path or resources.files("newssearch").joinpath("data", LEXICON_RESOURCE)
        with source.open("rb") as raw:
            text = gzip.decompress(raw.read()).decode("utf-8")
        # many new containers, none in a cycle: the cyclic collector would only walk them
        # over and over while they are built
        enabled = gc.isenabled()
        gc.disable()
        try:
            return cls(text)
        finally:
            if enabled:
                gc.enable()


def shape(word: str) -> str:
    """Word shape with runs collapsed: Xi → Xx, NATO → X, 2016 → d, Jean-Luc → Xx-Xx."""
    s = _DIGIT.sub("d", _LOWER.sub("x", _UPPER.sub("X", word)))
    return _REPEAT.sub(r"\1", s)


class Featurizer:
    """CRF features of a token sequence; per-word features are cached (news vocabulary repeats)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        # a word's feature strings are large: the bound keeps training's cache within memory
        # (the tagger keeps each word's scores instead, see Tagger)
        self.word = lru_cache(maxsize=caches.TAGGER_FEATURES)(self.word_features)

    def word_features(self, word: str) -> tuple[tuple[str, ...], dict[int, tuple[str, ...]]]:
        """(features of the word itself, {offset: the features it lends a word that far away})."""
        own, context = self.word_parts(word)
        return tuple(own), {off: tuple([prefix + x for x in context]) for off, prefix in _LENT}

    def word_parts(self, word: str) -> tuple[list[str], list[str]]:
        """(features of the word itself, what it lends a neighbour, without the offset prefix)."""
        lower = word.lower()
        word_shape = shape(word)
        lex = self.lexicon
        # a dateline's "MANAGUA": a word in capitals that spells a place (and is not itself a
        # listed name, as NATO is) gets that place's features
        if (
            len(word) > 3
            and word.isupper()
            and word.isalpha()
            and word not in lex.gazetteer
            and "place" in lex.gazetteer.get(word.capitalize(), ())
        ):
            own, context = self.word_parts(word.capitalize())
            return [*own, "caps-place"], context
        own = [
            "w=" + lower,
            "sh=" + word_shape,
            "p2=" + lower[:2],
            "p3=" + lower[:3],
            "s2=" + lower[-2:],
            "s3=" + lower[-3:],
            "s4=" + lower[-4:],
            "len=" + str(min(len(word), 12)),
        ]
        if word[:1].isupper():
            own.append("cap")
            if lower != word and lower in lex.clusters:
                # also written in lower case in the news text: an adjective or verb at a sentence
                # start, or "Deutsche", rather than a name
                own.append("lower-seen")
            if lower in lex.nouns:
                own.append("noun")
            elif lower.endswith("s") and lower[:-1] in lex.nouns:
                own.append("noun-s")
        if word.isupper() and len(word) > 1:
            own.append("allcaps")
        if "-" in word:
            own.append("hyphen")
            own.append("last=" + lower.rsplit("-", 1)[1])
        context = ["w=" + lower, "sh=" + word_shape[:4], "s3=" + lower[-3:]]
        own += ["p4=" + lower[:4], "s5=" + lower[-5:]]
        if word[:1].isupper():
            # "Präsident Obama", "Kreis Offenbach": a neighbour that is a capitalised common noun
            context.append("noun" if "noun" in own else "cap")
        if lex.freq:
            # how common the word is in general German: a frequent word written with a capital is
            # more often a sentence start or a noun than a name
            band = lex.freq.get(lower, "0")
            own.append(("czf=" if word[:1].isupper() else "zf=") + band)
            context.append("zf=" + band)
        # "MANAGUA (AP)": a word in capitals is looked up as the name it spells
        title = word.capitalize() if word.isupper() and len(word) > 2 else word
        clusters = lex.clusters.get(word) or lex.clusters.get(title) or lex.clusters.get(lower)
        if not clusters:
            # the clusters' vocabulary is small: a genitive or a hyphenated compound borrows
            # those of its bare form or its last part ("Schröders", "SPD-Fraktion")
            alt = word[:-1] if word.endswith("s") and len(word) > 3 else word.rsplit("-", 1)[-1]
            clusters = lex.clusters.get(alt)
            if clusters:
                own.append("c-alt")
        if clusters:
            for i, c in enumerate(clusters):
                own.append(f"c{i}={c}")
                context.append(f"c{i}={c}")
        else:
            own.append("c=none")
        name = word if word in lex.gazetteer else title
        for key in (name, name[:-1] if name.endswith("s") else None):
            if key:
                suffix = "" if key == name else "-s"
                for g in lex.gazetteer.get(key, ()):
                    own.append("g=" + g + suffix)
                    context.append("g=" + g + suffix)
        if "-" in word:
            for g in lex.gazetteer.get(word.rsplit("-", 1)[1], ()):
                own.append("g-last=" + g)
        return own, context

    def features(self, words: Sequence[str]) -> list[list[str]]:
        """One feature list per word of a sentence."""
        per_word = [self.word(w) for w in words]
        n = len(words)
        out = []
        for i in range(n):
            f = list(per_word[i][0])
            if i == 0:
                f.append("BOS")
            for off in (-2, -1, 1, 2):
                j = i + off
                if 0 <= j < n:
                    # word j is -off away from word i, seen from j; its lent features say so
                    f += per_word[j][1][-off]
                else:
                    f.append(f"{off}pad")
            if i > 0:
                f.append("bi=" + words[i - 1].lower() + "|" + words[i].lower())
            if i + 1 < n:
                f.append("bi+=" + words[i].lower() + "|" + words[i + 1].lower())
            out.append(f)
        return out


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first, last + 1, label) of each PER/ORG/LOC span of a BIO tag sequence (others skipped)."""
    out = []
    start, label = None, None
    for i, t in enumerate([*tags, "O"]):
        if t == "O" or t.startswith("B-") or t[2:] != label:
            if start is not None and label in LABELS:
                out.append((start, i, label))
            start, label = (i, t[2:]) if t != "O" else (None, None)
    return out


_DASHES_ALONE = {"-", "–", "—"}


def split_at_dashes(
    words: Sequence[str], spans: Sequence[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Spans cut at a dash standing alone: "Dynamo Dresden - Hamburger SV" names two teams (a
    name with a lone dash inside is rare in the annotated text)."""
    out = []
    for first, end, label in spans:
        start = first
        for i in range(first, end):
            if words[i] in _DASHES_ALONE:
                if start < i:
                    out.append((start, i, label))
                start = i + 1
        if start < end:
            out.append((start, end, label))
    return out


class Tagger:
    """The CRF tagger: token sequences in, (first, last + 1, label) spans out.

    Features are the :class:`Featurizer`'s strings, as in training; the tagger turns each word's
    strings into label scores once (its own features and those it lends each neighbour, kept per
    word: news vocabulary repeats) and decodes many sentences at once (:mod:`.crf`).
    """

    #: words whose scores a tagger keeps (a bound on its memory); then it starts over
    WORD_CACHE = caches.TAGGER_WORDS
    #: new words scored in one array operation (~30 features x 5 groups x 9 labels x 8 bytes each)
    SCORE_SLICE = 1_000

    def __init__(self, model_path, lexicon: Lexicon, threshold: float = 0.0) -> None:
        self.model_path = model_path
        self.model = LinearChainCRF.load(model_path)
        self.featurizer = Featurizer(lexicon)
        #: spans whose least sure token has a lower marginal probability are dropped
        self.threshold = threshold
        model = self.model
        self._bos = model.scores(["BOS"])
        # row 0 of the word table is the padding beyond a sentence's ends: what it "lends" a word
        # ``off`` away is that word's f"{off}pad" feature
        pad = np.zeros((1 + len(_OFFSETS), len(model.labels)))
        for slot, lent in enumerate(_OFFSETS, start=1):
            pad[slot] = model.scores([f"{-lent}pad"])
        self._pad = pad
        self._name_starts = {name[0] for name in lexicon.names}
        # the (lower-case) words that can be the first or the second of a bigram the model knows
        # (at every "|": a word may be "|" itself): any other pair has no bigram weights
        self._bigram_sides: tuple[set[str], set[str]] = (set(), set())
        for name in model.attributes:
            if name.startswith(("bi=", "bi+=")):
                bigram = name.partition("=")[2]
                for i, c in enumerate(bigram):
                    if c == "|":
                        self._bigram_sides[0].add(bigram[:i])
                        self._bigram_sides[1].add(bigram[i + 1 :])
        # the word table grows as words come: one batch at a time (API users may share a tagger
        # between threads)
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._words: dict[str, int] = {}  # word -> its row of the word table
        self._lower: list[str] = [""]  # row -> the word in lower case
        self._pairs: dict[
            int, tuple[int, int]
        ] = {}  # two rows -> the attributes of that bigram (-1: none)
        self._lent_ids: dict[str, tuple[int, ...]] = {}  # see _lent
        self._table = np.zeros((1024, 1 + len(_OFFSETS), len(self.model.labels)))
        self._table[0] = self._pad
        self._sides = np.zeros(
            1024, dtype=np.int8
        )  # row -> 1: may start a known bigram, 2: may end one

    def _score(self, first: int, words: Sequence[str]) -> None:
        """Fill the word table's rows from ``first`` on with the scores of ``words``, at once."""
        end = first + len(words)
        if end > len(self._table):
            grown = np.zeros((max(end, 2 * len(self._table)), *self._table.shape[1:]))
            grown[: len(self._table)] = self._table
            self._table = grown
            self._sides = np.concatenate(
                [self._sides, np.zeros(len(grown) - len(self._sides), dtype=np.int8)]
            )
        starts, ends = self._bigram_sides
        self._sides[first:end] = [(w in starts) | 2 * (w in ends) for w in self._lower[first:end]]
        parts, get, unknown = (
            self.featurizer.word_parts,
            self.model.attributes.get,
            len(self.model.attributes),
        )
        lent_ids, lent = self._lent_ids, self._lent
        slots = 1 + len(_OFFSETS)
        # a few array operations for many words (per word, its numpy calls cost more than its
        # features), in slices: the operation's scratch array grows with the words it scores
        for at in range(0, len(words), self.SCORE_SLICE):
            groups: list[
                list[int]
            ] = []  # attribute ids: a word's own, then what it lends each neighbour
            for word in words[at : at + self.SCORE_SLICE]:
                own, context = parts(word)
                groups.append([get(name, unknown) for name in own])
                ids = [lent_ids.get(x) or lent(x) for x in context]
                groups.extend([[i[k] for i in ids] for k in range(len(_OFFSETS))])
            scores = self.model.id_scores(groups)
            self._table[first + at : first + at + len(groups) // slots] = scores.reshape(
                -1, slots, scores.shape[1]
            )

    def _lent(self, feature: str) -> tuple[int, ...]:
        """The attribute ids of a context feature as lent to each offset (shared by many words)."""
        get, unknown = self.model.attributes.get, len(self.model.attributes)
        ids = self._lent_ids[feature] = tuple(
            [get(prefix + feature, unknown) for _, prefix in _LENT]
        )
        return ids

    def emissions(self, words: Sequence[str]) -> np.ndarray:
        """The (tokens, labels) state scores of a sentence: CRFsuite's sums over its features."""
        return self.emissions_many([words])[0]

    def emissions_many(self, sentences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """:meth:`emissions` of each sentence, made for all of them at once."""
        if not sentences:
            return []
        if len(self._words) + sum(map(len, sentences)) >= self.WORD_CACHE:
            self._reset()  # between batches: a batch's rows stay valid while it is scored
        known, lower, first_new = self._words, self._lower, len(self._lower)
        new: list[str] = []  # words first seen in this batch, in the order of their rows

        def row_of(word: str) -> int:
            row = known[word] = len(lower)
            lower.append(word.lower())
            new.append(word)
            return row

        # the sentences' rows one after another, two padding rows (row 0) around each
        rows = [0, 0]
        for words in sentences:
            rows.extend([known.get(w) or row_of(w) for w in words])
            rows += (0, 0)
        if new:
            self._score(first_new, new)
        spread = np.asarray(rows, dtype=np.intp)
        at = np.flatnonzero(spread)  # where the words are
        table = self._table
        out = table[spread[at], 0]
        lengths = np.fromiter(map(len, sentences), dtype=np.intp, count=len(sentences))
        ends = np.cumsum(lengths)
        out[(ends - lengths)[lengths > 0]] += self._bos  # each sentence's first word
        for off in _OFFSETS:
            # the word ``off`` away lends what it lends a word -off away from itself
            out += table[spread[at + off], 1 + _OFFSETS.index(-off)]
        # word bigrams in a sentence (CRFsuite's order of sums: a word's "bi=" before its "bi+=")
        first = np.flatnonzero(at[1:] == at[:-1] + 1)  # out[first] and out[first + 1] are a bigram
        left, right = spread[at[first]], spread[at[first + 1]]
        maybe = np.flatnonzero(
            (self._sides[left] & 1) & (self._sides[right] >> 1)
        )  # the rest have no weights
        first = first[maybe]
        keys = ((left[maybe] << 32) | right[maybe]).tolist()
        found = list(map(self._pairs.get, keys))
        if None in found:
            found = [
                self._pair(key) if ids is None else ids
                for key, ids in zip(keys, found, strict=False)
            ]
        pair_ids = np.array(found, dtype=np.intp).reshape(-1, 2)
        state = self.model.state
        for column, position in ((0, first + 1), (1, first)):
            ids = pair_ids[:, column]
            has = ids >= 0
            out[position[has]] += state[ids[has]]
        return np.split(out, ends[:-1])

    def _pair(self, key: int) -> tuple[int, int]:
        """The attributes "bi=a|b" and "bi+=a|b" of two rows' bigram (-1: the model has none)."""
        attributes = self.model.attributes
        bigram = self._lower[key >> 32] + "|" + self._lower[key & 0xFFFFFFFF]
        found = self._pairs[key] = (
            attributes.get("bi=" + bigram, -1),
            attributes.get("bi+=" + bigram, -1),
        )
        return found

    def tag_tokens(self, words: Sequence[str]) -> set[tuple[int, int, str]]:
        """Entity spans over ``words`` (token indices, end exclusive) with PER/ORG/LOC labels."""
        return self.tag_many([words])[0]

    def tag_many(self, sentences: Sequence[Sequence[str]]) -> list[set[tuple[int, int, str]]]:
        """:meth:`tag_tokens` for many sentences at once (much faster than one by one)."""
        with self._lock:
            step = max(
                1, self.WORD_CACHE // 4
            )  # words per batch: the word table's size stays bounded
            emissions: list[np.ndarray] = []
            group: list[Sequence[str]] = []
            size = 0
            for words in sentences:
                if group and size + len(words) > step:
                    emissions += self.emissions_many(group)
                    group, size = [], 0
                group.append(words)
                size += len(words)
            emissions += self.emissions_many(group) if group else []
            decoded = self.model.decode(emissions)
        labels = self.model.labels
        out = []
        for words, (ids, marginals) in zip(sentences, decoded, strict=False):
            tags = [labels[i] for i in ids]
            spans = {
                (start, end, label)
                for start, end, label in split_at_dashes(words, bio_spans(tags))
                if not self.threshold or marginals[start:end].min() >= self.threshold
            }
            if self.featurizer.lexicon.names:
                self._known_names(words, spans)
            out.append(spans)
        return out

    def _known_names(self, words: Sequence[str], spans: set[tuple[int, int, str]]) -> None:
        """Add names the training data annotates where the CRF found nothing (longest first)."""
        names = self.featurizer.lexicon.names
        starts = [i for i, w in enumerate(words) if w in self._name_starts]
        if not starts:
            return
        taken = {i for a, b, _ in spans for i in range(a, b)}
        for n in (3, 2, 1):
            for i in starts:
                if i + n > len(words):
                    continue
                label = names.get(tuple(words[i : i + n]))
                if label and taken.isdisjoint(range(i, i + n)):
                    spans.add((i, i + n, label))
                    taken.update(range(i, i + n))


# --- normalisation ----------------------------------------------------------------------------

_QUOTES = str.maketrans({c: None for c in "\"'„“”‚‘’»«›‹`´"})
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—"})
_SPACE = re.compile(r"\s+")


def clean(surface: str) -> str:
    """The surface form without quotes, with one kind of hyphen and single spaces."""
    text = _SPACE.sub(" ", surface.translate(_DASHES)).strip()
    return text.strip("\"'„“”‚‘’»«›‹`´ ").replace("\u00ad", "")


# Per label: gazetteer kinds that show a bare form is a name of that kind (annotated SmartData
# names count), and the curated lists whose -s names must stay whole (annotated text has "Putins").
_BARE_EVIDENCE = {
    "PER": {"first", "last", "sd-per"},
    "LOC": {"place", "geo", "sd-loc"},
    "ORG": {"sd-org"},
}
#: frequency band (twice the Zipf value) from which a word counts as known for base_form
_KNOWN_BAND = 6
_S_NAMES = {"PER": {"first", "last"}, "LOC": {"place", "geo"}, "ORG": set()}


class Normalizer:
    """Turns one article's mentions into facet names (see :func:`normalize`)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def base_form(self, name: str, seen: set[str], label: str = "PER") -> str:
        """Strip a genitive -s/-' from the last word when the bare form is a known name.

        "Known" means mentioned bare in the same article, or a name of the same kind in the
        gazetteers or a word of the news vocabulary (clusters), while the -s form is not itself a
        listed name of that kind: Putins -> Putin, Chinas -> China, but Paris, Klaus, Markus and
        Andrea Nahles (though Nahle is a place) stay.
        """
        head, _, last = name.rpartition(" ")
        if last.endswith(("'", "’")) and len(last) > 2:
            return (head + " " + last[:-1]).strip()
        if not last.endswith("s") or len(last) < 4 or not last[:1].isupper() or last.isupper():
            return name
        bare = last[:-1]
        bare_name = (head + " " + bare).strip()
        if name_key(name) in shipped_names().kinds:
            return name  # known with its s: Reuters, not Reuter
        if name_key(bare_name) in seen or name_key(bare) in seen:
            return bare_name
        if _S_NAMES.get(label, set()) & set(self.lexicon.gazetteer.get(last, ())) or bare.endswith(
            ("s", "x", "z", "ß")
        ):
            return name
        if (
            _BARE_EVIDENCE.get(label, set()) & set(self.lexicon.gazetteer.get(bare, ()))
            or bare in self.lexicon.clusters
            # the clusters' vocabulary is small now (CC BY text only): common words count too
            or int(self.lexicon.freq.get(bare.lower(), 0)) >= _KNOWN_BAND
        ):
            return bare_name
        return name

    def tidy(self, label: str, text: str) -> str:
        """A mention without a common noun after a genitive, a person's also without titles and
        role nouns ("Amtskollege Barack Obama" -> "Barack Obama", "Merkels Privathandy" ->
        "Merkels")."""
        if label == "PER":
            text = strip_roles(text)
        words = text.split(" ")
        if self.noun_after_genitive(words):
            text = " ".join(words[:-1])
        return text

    def noun_after_genitive(self, words: Sequence[str]) -> bool:
        """Do ``words`` end in a common noun after a genitive ("Schapers Vermerke")?"""
        return (
            len(words) > 1
            and words[-1].lower() in self.lexicon.nouns
            and words[-2].endswith("s")
            and not self.lexicon.gazetteer.get(words[-1])
        )

    def normalize(self, mentions: list[tuple[str, str]]) -> list[str]:
        """Facet names for one article's (label, cleaned surface) mentions, in order."""
        mentions = [(label, self.tidy(label, text)) for label, text in mentions]
        seen = {name_key(text) for _, text in mentions}
        names = [self.base_form(text, seen, label) for label, text in mentions]
        labels = [label for label, _ in mentions]
        # full names by label, longest first: a short mention maps to the one that contains it
        full: dict[str, list[str]] = {}
        for label, name in zip(labels, names, strict=False):
            if " " in name and name not in full.setdefault(label, []):
                full[label].append(name)
        expansions = _abbreviations(names, labels)
        out = []
        for label, name in zip(labels, names, strict=False):
            if name in expansions.get(label, {}):
                out.append(expansions[label][name])
                continue
            if " " not in name and label in ("PER", "ORG"):
                # Xi -> Xi Jinping, Putin -> Wladimir Putin: the one longer name of the article
                # that has this word as its first or last word (ambiguous -> left as it is)
                longer = {
                    f for f in full.get(label, ()) if name in (f.split(" ")[0], f.split(" ")[-1])
                }
                if len(longer) == 1:
                    out.append(longer.pop())
                    continue
            out.append(name)
        # one spelling per name: the first seen among those with the same key
        spelling: dict[str, str] = {}
        return [spelling.setdefault(name_key(n), n) for n in out]


def _abbreviations(names: list[str], labels: list[str]) -> dict[str, dict[str, str]]:
    """ABBR -> expansion where an upper-case mention spells the initials of a longer one."""
    out: dict[str, dict[str, str]] = {}
    for label, name in zip(labels, names, strict=False):
        if not (2 <= len(name) <= 6 and name.isupper() and name.isalpha()):
            continue
        for other_label, other in zip(labels, names, strict=False):
            if other_label == label and " " in other and _initials(other) == name:
                out.setdefault(label, {})[name] = other
                break
    return out


def _initials(name: str) -> str:
    return "".join(w[0] for w in re.split(r"[\s-]+", name) if w[:1].isupper())


# --- the public entry point -------------------------------------------------------------------

#: The shipped model's span confidence cut-off (least sure token's marginal probability); chosen
#: by training/train_entities.py on held-out GermEval sentences to favour precision.
THRESHOLD = 0.55


class EntityExtractor:
    """Tagger + normaliser over raw text; :func:`entity_extractor` gives the shared instance."""

    def __init__(self, tagger: Tagger, normalizer: Normalizer) -> None:
        self.tagger = tagger
        self.normalizer = normalizer

    def extract(self, text: str) -> list[Entity]:
        """The PER/ORG/LOC mentions of ``text`` in order, with normalised names."""
        return self.extract_many([text])[0]

    def extract_many(self, texts: Sequence[str]) -> list[list[Entity]]:
        """:meth:`extract` for many texts, their sentences tagged in one batch (faster)."""
        split: list[list[list[tuple[int, int]]]] = []
        words: list[Sequence[str]] = []  # of each sentence, text after text
        for text in texts:
            spans = tokenize(text)
            tokens = [text[a:b] for a, b in spans]
            starts = sentence_starts(text, spans, tokens)
            split.append([spans[a:b] for a, b in pairwise(starts)])
            words += [tokens[a:b] for a, b in pairwise(starts)]
        tagged = iter(self.tagger.tag_many(words))
        out = []
        for text, found in zip(texts, split, strict=False):
            sentence_spans = [(sentence, next(tagged)) for sentence in found]
            out.append(self._entities(text, sentence_spans))
        return out

    def _entities(
        self, text: str, tagged: list[tuple[list[tuple[int, int]], set[tuple[int, int, str]]]]
    ) -> list[Entity]:
        found: list[tuple[int, int, str]] = []
        for sentence, spans in tagged:
            if spans:
                words = [text[a:b] for a, b in sentence]
                spans = adjust_spans(words, spans, self.is_first_name, self._plain_word)
                # the owner's name only: "Schapers Vermerke" mentions Schaper
                spans = {
                    (a, b - 1 if self.normalizer.noun_after_genitive(words[a:b]) else b, label)
                    for a, b, label in spans
                }
            for first, last, label in sorted(spans):
                found.append((sentence[first][0], sentence[last - 1][1], label))
        mentions = [(label, clean(text[a:b])) for a, b, label in found]
        names_list = shipped_names()
        # a "name" without letters or digits, or longer than any real one, is a tagging error;
        # sports-result codes (GER, AUT) are no names
        keep = [
            i
            for i, (label, surface) in enumerate(mentions)
            if any(c.isalnum() for c in surface)
            and len(surface) <= 80
            and name_key(surface) not in names_list.hidden
            and not self._common_noun(label, surface, names_list.kinds)
        ]
        names = self.normalizer.normalize([mentions[i] for i in keep])
        kinds = names_list.kinds
        return [
            Entity(
                text[found[i][0] : found[i][1]],
                kinds.get(name_key(name), found[i][2]),  # the kind readers expect: Xinhua an ORG
                found[i][0],
                found[i][1],
                name,
            )
            for i, name in zip(keep, names, strict=False)
            if name_key(name) not in names_list.hidden
        ]

    def _common_noun(self, label: str, surface: str, kinds: Mapping[str, str]) -> bool:
        """Is a one-word person a common noun that no name list has as a person ("Corona")?

        (Places are left alone: "Erde", "Westend" are common nouns and places.)"""
        if label != "PER" or " " in surface or name_key(surface) in kinds:
            return False
        lexicon = self.normalizer.lexicon
        return surface.lower() in lexicon.nouns and not _BARE_EVIDENCE["PER"] & set(
            lexicon.gazetteer.get(surface, ())
        )

    def is_first_name(self, word: str) -> bool:
        """Is ``word`` a first name (and no family name) by the gazetteer? Hyphenated: each part."""
        gazetteer = self.normalizer.lexicon.gazetteer
        parts = word.split("-")
        return all(
            "first" in (kinds := gazetteer.get(p, ())) and "last" not in kinds for p in parts
        )

    def _plain_word(self, word: str) -> bool:
        """Is ``word`` a plain word written in lower case elsewhere, and no known person name?"""
        lexicon = self.normalizer.lexicon
        return word.lower() in lexicon.clusters and not _BARE_EVIDENCE["PER"] & set(
            lexicon.gazetteer.get(word, ())
        )


@lru_cache(maxsize=1)
def entity_extractor() -> EntityExtractor:
    """The shipped model, loaded once per process."""
    lexicon = Lexicon.load()
    with resources.as_file(resources.files("newssearch").joinpath("data", MODEL_RESOURCE)) as path:
        tagger = Tagger(path, lexicon, THRESHOLD)
    return EntityExtractor(tagger, Normalizer(lexicon))


def extract_entities(text: str) -> list[Entity]:
    """People (PER), organisations (ORG) and places (LOC) named in ``text``, in order of mention."""
    return entity_extractor().extract(text)


def distinct(entities: Sequence[Entity]) -> list[tuple[str, str]]:
    """One (label, name) per name, in order of first mention, under its most frequent label.

    A lone first name ("Andreas") is a mention, but no facet value: it names nobody a reader
    could look up, so it is left out here.
    """
    labels: dict[str, Counter] = {}
    names: dict[str, str] = {}
    for e in entities:
        if e.label == "PER" and " " not in e.name and entity_extractor().is_first_name(e.name):
            continue
        k = name_key(e.name)
        names.setdefault(k, e.name)
        labels.setdefault(k, Counter())[e.label] += 1
    return [(labels[k].most_common(1)[0][0], names[k]) for k in names]


def article_entities(title: str | None, text: str) -> list[tuple[str, str]]:
    """The distinct (label, name) entities of an article, title included."""
    return distinct(extract_entities(f"{title}\n\n{text}" if title else text))
