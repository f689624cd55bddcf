"""Topics: a built-in section classifier and user topics (saved queries from config.yaml).

The classifier is a linear SVM trained by ``training/train_sections.py`` on
``gnad.jsonl``; it ships as plain JSON (vocabularies, idf weights, int8-quantised
coefficients), so loading it runs no code from the file.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from itertools import chain, islice
from operator import is_not
from typing import Any, cast

import numpy as np

from .. import caches
from ..config import AnalysisConfig
from ..text.analysis import GermanTokenizer, word_terms

#: The sections of DER STANDARD that gnad.jsonl is labelled with, as the API returns them.
SECTIONS = (
    "Etat",
    "Inland",
    "International",
    "Kultur",
    "Panorama",
    "Sport",
    "Web",
    "Wirtschaft",
    "Wissenschaft",
)
#: Friendlier names the CLI shows (and accepts) for two of them.
DISPLAY_NAMES = {"Etat": "Medien", "Web": "Digital"}
MODEL_RESOURCE = "sections_de.json.gz"
#: The short-text model: the same features, trained on gnad's sentences (training/train_sections.py)
SHORT_MODEL_RESOURCE = "sections_short_de.json.gz"
#: Texts shorter than this (characters; headline-only records) are classified by the short-text
#: model and get a section only when it is sure (:data:`SHORT_TEXT_MARGINS`).
SHORT_TEXT_CHARS = 400
#: Per section, the least margin (best minus second-best decision value) at which a short text
#: is shown with it; missing: never. Chosen by ``bench/sections.py --calibrate`` on the
#: calibration half of the shared headlines: the least margin at which a section is right at
#: least half the time on headlines whose url_section names a section, a politik headline
#: shown with a non-political section counted wrong (only these numbers come from the
#: headlines, which carry no licence). A wrong section is worse than none.
SHORT_TEXT_MARGINS: dict[str, float] = {"Sport": 0.515, "Wirtschaft": 0.004, "Wissenschaft": 0.537}

_WHITESPACE = re.compile(r"\s+")
# The classifier's own analysis, fixed at training time: a user's analysis settings must not
# change what the shipped model sees.
_ANALYSIS = AnalysisConfig()


@dataclass(frozen=True)
class Topic:
    """A predicted section: ``label`` and the classifier's margin ``score`` (higher is surer)."""

    label: str
    score: float


def stem_features(text: str) -> list[str]:
    """Word features: the default index analyzer's terms (stems, compound parts) of each word."""
    return [term for word in _stem_words(text) for term in _word_terms(word)]


def _stem_words(text: str) -> list[str]:
    # the analyzer's tokenizer's words, without making a Whoosh Token of each
    return [word.lower() for word in _WORDS(text)]


_WORDS = GermanTokenizer().expression.findall


@lru_cache(maxsize=1)
def _analyzer():
    # The analyzer of the index schema for the default settings, built on first use (the
    # stemmer imports NLTK, which every CLI command would pay at import): with those settings
    # (the usual case) the index's terms and the classifier's come from the same filters, so
    # each word is stemmed and decompounded once per process, not twice.
    from ..text.analysis import shared_analyzer

    return shared_analyzer(_ANALYSIS)


@lru_cache(maxsize=caches.WORDS)
def _word_terms(word: str) -> tuple[str, ...]:
    # Word by word, cached: news vocabulary repeats, so most words are analysed once per process.
    return word_terms(_analyzer(), word)


def char_features(text: str, sizes: Sequence[int] = (3, 4, 5)) -> list[str]:
    """Character n-grams of each lowercased word padded with spaces (robust to inflection)."""
    return [gram for word in _char_words(text) for gram in word_grams(word, sizes)]


def _char_words(text: str) -> list[str]:
    return [word for word in _WHITESPACE.split(text.lower()) if word]


def word_grams(word: str, sizes: Sequence[int] = (3, 4, 5)) -> list[str]:
    """The character n-grams of one word padded with spaces, all of one size, then the next."""
    padded = f" {word} "
    return [padded[i : i + n] for n in sizes for i in range(len(padded) - n + 1)]


# The model's feature blocks word by word (words, then each word's features), so the classifier
# can keep each word's feature ids: stem_features(text) == [f for w in _stem_words(text) for f in
# _word_terms(w)], and likewise char_features.
_WORD_FEATURES = {"stems": (_stem_words, _word_terms), "chars": (_char_words, word_grams)}
#: Is a vocabulary lookup's result a feature id (not None)? Filtering with it stays in C.
_KNOWN = partial(is_not, None)
#: Words whose feature ids a classifier block keeps: a bound on each process's cache memory,
#: large enough for the news vocabulary that repeats.
WORD_CACHE = caches.CLASSIFIER_WORDS


class WordLookup:
    """The feature ids of many words, one word at a time: each ``of_word(word)`` looked up in
    ``vocab``. The reference (the spec) for :class:`CharGrams`.

    Each word's ids come as the bytes of an int32 array: a text's words' ids are then joined
    into one numpy array by a bytes join, not integer by integer.
    """

    def __init__(self, of_word, vocab: dict[str, int]) -> None:
        self.of_word = of_word
        self.vocab = vocab

    def __call__(self, words: Sequence[str]) -> list[bytes]:
        get = self.vocab.get
        return [
            array("i", cast(Iterable[int], filter(_KNOWN, map(get, self.of_word(word))))).tobytes()
            for word in words
        ]


class CharGrams(WordLookup):
    """:class:`WordLookup` of character n-grams, all words at once as array operations.

    A gram is an integer key, 8 bits per character (the vocabulary's characters numbered from
    1; any other character is 0, which no vocabulary key has) and its length above them, found
    by binary search among the vocabulary's keys. The ids come in ``word_grams``' order, the
    same as looking the grams up one by one (its reference, :class:`WordLookup`), with far fewer
    Python calls.
    """

    def __init__(self, vocab: dict[str, int], sizes: Sequence[int] = (3, 4, 5)) -> None:
        super().__init__(partial(word_grams, sizes=sizes), vocab)
        self.sizes = tuple(sizes)
        alphabet = sorted(set("".join(vocab)))
        self.exact = (
            len(alphabet) < 256 and all(ord(c) < 0xFFFF for c in alphabet) and max(sizes) <= 5
        )
        if not self.exact:
            return  # keys would not fit: one word at a time
        self.codes = np.zeros(0x10000, dtype=np.uint64)  # code points from U+FFFF on all map to 0
        self.codes[[ord(c) for c in alphabet]] = np.arange(1, len(alphabet) + 1, dtype=np.uint64)
        keys, ids = [], []
        for n in self.sizes:  # a gram of another length is never looked up
            grams = [gram for gram in vocab if len(gram) == n]
            keys.append(
                self._keys(self._codes(grams), n)[::n]
            )  # the grams one after another: one every n
            ids.append(np.fromiter(map(vocab.__getitem__, grams), dtype=np.int32, count=len(grams)))
        key = np.concatenate(keys)
        order = np.argsort(key)
        self.keys = key[order]
        self.ids = np.concatenate(ids)[order]

    def _codes(self, strings: Sequence[str]) -> np.ndarray:
        """The character codes of the strings, one after another."""
        points = np.frombuffer(
            "".join(strings).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
        )
        return self.codes[np.minimum(points, 0xFFFF)]

    @staticmethod
    def _keys(codes: np.ndarray, n: int) -> np.ndarray:
        """The key of the n characters from each position on (to the last that has n)."""
        starts = len(codes) - n + 1
        if starts <= 0:
            return np.zeros(0, dtype=np.uint64)
        key = np.full(starts, n << 40, dtype=np.uint64)
        for i in range(n):
            key |= codes[i : i + starts] << np.uint64(8 * i)
        return key

    def __call__(self, words: Sequence[str]) -> list[bytes]:
        if not self.exact or not words:
            return super().__call__(words)
        # every word padded as in word_grams, one after the other; a gram is valid where it
        # ends inside its own word's padding
        codes = self._codes([f" {word} " for word in words])
        lengths = np.fromiter(map(len, words), dtype=np.intp, count=len(words)) + 2
        room = np.repeat(np.cumsum(lengths), lengths) - np.arange(
            len(codes)
        )  # characters left in the word
        owner = np.repeat(np.arange(len(words)), lengths)
        keys, owners = [], []
        for n in self.sizes:  # all grams of one size, then the next: word_grams' order
            key = self._keys(codes, n)
            inside = room[: len(key)] >= n
            keys.append(key[inside])
            owners.append(owner[: len(key)][inside])
        key = np.concatenate(keys)
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        found = self.keys[at] == key
        of = np.concatenate(owners)[found]
        order = np.argsort(of, kind="stable")  # word by word, each word's grams in order
        ids = self.ids[at[found][order]].tobytes()
        ends = (np.cumsum(np.bincount(of, minlength=len(words))) * 4).tolist()
        return [ids[start:end] for start, end in zip([0, *ends], ends, strict=False)]


class SectionClassifier:
    """A linear model over TF-IDF blocks, evaluated with numpy (no scikit-learn at run time)."""

    def __init__(self, model: dict[str, Any]) -> None:
        """Build from the JSON structure ``training/train_sections.py`` writes."""
        if model.get("format") != 1:
            raise ValueError("unsupported section model format")
        self.labels: tuple[str, ...] = tuple(model["labels"])
        k = len(self.labels)
        self.intercept = [float(v) for v in model["intercept"]]
        self.blocks: list[tuple] = []
        for block in model["blocks"]:
            vocab = {term: i for i, term in enumerate(block["vocab"])}
            # int8 coefficients, term-major (term i's k weights at i*k ... i*k+k-1), scaled per
            # class
            coef = np.frombuffer(base64.b64decode(block["coef"]), dtype=np.int8).reshape(
                len(vocab), k
            )
            weights = coef.astype(np.float64) * np.asarray(block["scale"], dtype=np.float64)
            words, of_word = _WORD_FEATURES[block["features"]]
            ids_of = CharGrams(vocab) if of_word is word_grams else WordLookup(of_word, vocab)
            idf = np.asarray(block["idf"], dtype=np.float64)
            self.blocks.append((words, ids_of, len(vocab), idf, weights, {}))

    def scores(self, text: str) -> list[float]:
        """The decision value of every label for ``text``."""
        return self.scores_many([text])[0].tolist()

    def scores_many(self, texts: Sequence[str], repeats: Sequence[int] | None = None) -> np.ndarray:
        """The decision values (texts x labels) of many texts at once.

        ``repeats``: how many times over each text is read, blank lines between (the words of
        "text\n\ntext" are those of text twice: its counts, doubled). Each text's feature
        counts are made word by word (each distinct word's feature ids are kept: news
        vocabulary repeats; the texts' new words are looked up together), then the TF-IDF
        weights and the sums over all texts in a few array operations: done text by text, a
        dozen numpy calls cost more than counting a headline's words.
        """
        n = len(texts)
        total = np.tile(np.asarray(self.intercept, dtype=np.float64), (n, 1))
        for words, ids_of, size, idf, weights, known in self.blocks:
            counted = [Counter(words(text)) for text in texts]
            feature_ids = [
                [known.get(word) for word in c] for c in counted
            ]  # int32 bytes, or None: new
            new = {
                word: None
                for c, ids in zip(counted, feature_ids, strict=False)
                if None in ids
                for word, i in zip(c, ids, strict=False)
                if i is None
            }
            if new:  # all new words of all texts at once
                made = dict(zip(new, ids_of(list(new)), strict=False))
                if len(known) < WORD_CACHE:
                    known.update(islice(made.items(), WORD_CACHE - len(known)))
                feature_ids = [
                    [made[word] if i is None else i for word, i in zip(c, ids, strict=False)]
                    if None in ids
                    else ids
                    for c, ids in zip(counted, feature_ids, strict=False)
                ]
            per_text = np.fromiter(map(len, feature_ids), dtype=np.intp, count=n)  # distinct words
            joined = list(chain.from_iterable(feature_ids))
            sizes = np.fromiter(map(len, joined), dtype=np.intp, count=len(joined)) // 4
            if not sizes.any():
                continue
            ids = np.frombuffer(b"".join(joined), dtype=np.int32)
            # of each distinct word in its text
            counts: Any = list(chain.from_iterable(c.values() for c in counted))
            if repeats is not None:
                counts = np.repeat(np.asarray(repeats, dtype=np.float64), per_text) * counts
            # one (text, feature) key each, summed over the words that have it: term frequencies
            keys = np.repeat(np.repeat(np.arange(n, dtype=np.int64), per_text) * size, sizes) + ids
            pairs, where = np.unique(keys, return_inverse=True)
            tf = np.bincount(where, weights=np.repeat(np.asarray(counts, dtype=np.float64), sizes))
            text_of, feature = np.divmod(pairs, size)
            # sublinear tf, idf, then L2 norm over the block: what TfidfVectorizer does
            w = (1.0 + np.log(tf)) * idf[feature]
            starts = np.flatnonzero(
                np.r_[True, text_of[1:] != text_of[:-1]]
            )  # pairs come text by text
            present = text_of[starts]
            norms = np.sqrt(np.add.reduceat(w * w, starts))
            total[present] += (
                np.add.reduceat(weights[feature] * w[:, None], starts) / norms[:, None]
            )
        return total

    def classify(self, text: str) -> list[Topic]:
        """All labels, best first."""
        ranked = sorted(zip(self.scores(text), self.labels, strict=False), key=lambda sl: -sl[0])
        return [Topic(label, round(score, 4)) for score, label in ranked]

    def best(self, text: str) -> str | None:
        """The best label, or None for a text with no known feature at all."""
        return self.best_many([text])[0]

    def best_many(
        self, texts: Sequence[str], repeats: Sequence[int] | None = None
    ) -> list[str | None]:
        """:meth:`best` of each text (``repeats``: see :meth:`scores_many`)."""
        scores = self.scores_many(texts, repeats)
        best = scores.argmax(axis=1)  # the first of equals, as classify()
        return [
            self.labels[b] if text.strip() else None
            for b, text in zip(best.tolist(), texts, strict=False)
        ]


@lru_cache(maxsize=1)
def section_classifier() -> SectionClassifier:
    """The shipped model, loaded once."""
    data = resources.files("newssearch").joinpath(f"data/{MODEL_RESOURCE}").read_bytes()
    return SectionClassifier(json.loads(gzip.decompress(data)))


@lru_cache(maxsize=1)
def short_section_classifier() -> SectionClassifier:
    """The shipped short-text model (headline-sized texts), loaded once."""
    data = resources.files("newssearch").joinpath(f"data/{SHORT_MODEL_RESOURCE}").read_bytes()
    return SectionClassifier(json.loads(gzip.decompress(data)))


def sure_sections(scores: np.ndarray, labels: Sequence[str]) -> list[str | None]:
    """The best label of each row of short-text ``scores`` where its margin reaches the cut-off."""
    if not len(scores):
        return []
    best = scores.argmax(axis=1)
    top2 = np.sort(scores, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    need = np.array([SHORT_TEXT_MARGINS.get(label, np.inf) for label in labels])
    return [
        labels[b] if m >= need[b] else None
        for b, m in zip(best.tolist(), margin.tolist(), strict=True)
    ]


def sections_many(texts: Sequence[str], repeats: Sequence[int] | None = None) -> list[str | None]:
    """The section each text is indexed with: the full-text model's best section for a long
    text; for a short one (headline-only records), the short-text model's when it is sure, else
    None (``repeats``: see :meth:`SectionClassifier.scores_many`)."""
    short = [i for i, text in enumerate(texts) if len(text) < SHORT_TEXT_CHARS]
    if not short:
        return section_classifier().best_many(texts, repeats)
    out: list[str | None] = [None] * len(texts)
    long = [i for i, text in enumerate(texts) if len(text) >= SHORT_TEXT_CHARS]
    if long:
        found = section_classifier().best_many(
            [texts[i] for i in long], [repeats[i] for i in long] if repeats else None
        )
        for i, section in zip(long, found, strict=True):
            out[i] = section
    classifier = short_section_classifier()
    kept = [i for i in short if texts[i].strip()]
    scores = classifier.scores_many(
        [texts[i] for i in kept], [repeats[i] for i in kept] if repeats else None
    )
    for i, section in zip(kept, sure_sections(scores, classifier.labels), strict=True):
        out[i] = section
    return out


def indexed_section(text: str) -> str | None:
    """The section ``newssearch index`` gives a record with this text and no title (or None)."""
    return sections_many([text])[0] if text.strip() else None


def classify(text: str) -> list[Topic]:
    """Sections of DER STANDARD for a German news text, best first (see :data:`SECTIONS`)."""
    return section_classifier().classify(text)


def display_name(label: str) -> str:
    """The name the CLI shows for a section or topic label."""
    return DISPLAY_NAMES.get(label, label)


def label_for(name: str) -> str:
    """Accept a display name (Medien, Digital) wherever a section label is expected."""
    reverse = {v.lower(): k for k, v in DISPLAY_NAMES.items()}
    return reverse.get(name.lower(), name)
