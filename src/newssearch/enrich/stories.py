"""Wire copies: articles whose bodies are near-duplicates are grouped into one story.

Each body becomes a MinHash signature of its word 4-grams (shingles); locality-sensitive
hashing over bands of the signature finds candidate copies, and a candidate joins when the
signatures agree on enough of their values (an estimate of the shingle sets' Jaccard
similarity). The signature is a column of the index and the band keys sit in an array beside
it (:mod:`newssearch.index.storykeys`), so a copy indexed in a later run finds its story there.
A headline-only record (no body) is a copy only of a record with the same title on the same
day: a title alone repeats ("Nachrichten des Tages" is a new article every day).
Measurements: bench/dedup.py, bench/dedup-results.md.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..models import Article

#: words per shingle
SHINGLE = 4
#: MinHash values per signature; the first BANDS * ROWS of them make the LSH bands
PERMUTATIONS = 64
BANDS = 32
ROWS = 2
#: A candidate is a copy when the estimated share of the shorter text's shingles found in the
#: longer (containment: a cut copy is contained in its original) reaches CONTAINMENT and the
#: estimated Jaccard similarity reaches RESEMBLANCE (tuned in bench/dedup.py)
CONTAINMENT = 0.4
RESEMBLANCE = 0.25
#: Texts of fewer shingles than SHORT are copies only at SHORT_RESEMBLANCE: in short texts a
#: shared boilerplate sentence ("Der Volltext dieses ... steht nicht mehr zur Verfügung") is
#: a large part of each
SHORT = 50
SHORT_RESEMBLANCE = 0.5

_RNG = np.random.default_rng(20161)
# multiply-shift hashing: (a * x + b) mod 2**64, top 32 bits; a odd
_A = _RNG.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _RNG.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)
# per-position multipliers combining a shingle's word hashes
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93])
_MIX = _MIX.astype(np.uint64)
_BAND_SALT = (np.arange(BANDS, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x94D049BB133111EB)
_WORD = re.compile(r"\w+")
_WORD_HASH: dict[str, int] = {}


def _word_hash(word: str) -> int:
    value = _WORD_HASH.get(word)
    if value is None:
        data = word.encode("utf-8")
        value = zlib.crc32(data) | ((zlib.adler32(data) & 0x7FFFFFFF) << 32)  # < 2**63: int64
        if len(_WORD_HASH) < 500_000:
            _WORD_HASH[word] = value
    return value


def signature(text: str) -> np.ndarray | None:
    """MinHash signature of the word shingles, None if no words.

    PERMUTATIONS uint32 values, then the number of distinct shingles (for containment).
    """
    words = _WORD.findall(text.lower())
    if not words:
        return None
    known = _WORD_HASH.get
    hashes = np.array([known(w) or _word_hash(w) for w in words], dtype=np.int64).view(np.uint64)
    k = min(SHINGLE, len(hashes))
    n = len(hashes) - k + 1
    with np.errstate(over="ignore"):
        shingles = hashes[:n] * _MIX[0]
        for i in range(1, k):
            shingles = shingles ^ (hashes[i : i + n] * _MIX[i])
        shingles = np.unique(shingles)
        values = (_A[:, None] * shingles[None, :] + _B[:, None]) >> np.uint64(32)
    out = np.empty(PERMUTATIONS + 1, dtype=np.uint32)
    out[:PERMUTATIONS] = values.min(axis=1)
    out[PERMUTATIONS] = min(len(shingles), 2**32 - 1)
    return out


def band_keys(sig: np.ndarray) -> list[int]:
    """The LSH band keys of a signature (one per band: equal keys, equal band)."""
    pairs = sig[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        keys = ((pairs[:, 0] << np.uint64(32)) | pairs[:, 1]) ^ _BAND_SALT
    return keys.tolist()


def resemblance(a: np.ndarray, b: np.ndarray) -> float:
    """Share of equal MinHash values: an estimate of the shingle sets' Jaccard similarity."""
    return float(np.count_nonzero(a[:PERMUTATIONS] == b[:PERMUTATIONS])) / PERMUTATIONS


def containment(a: np.ndarray, b: np.ndarray, jaccard: float | None = None) -> float:
    """Estimated share of the smaller shingle set found in the larger (from Jaccard and sizes)."""
    j = resemblance(a, b) if jaccard is None else jaccard
    na, nb = int(a[PERMUTATIONS]), int(b[PERMUTATIONS])
    common = j / (1 + j) * (na + nb)
    return min(1.0, common / max(1, min(na, nb)))


def is_copy(a: np.ndarray, b: np.ndarray) -> float:
    """How close a copy ``b`` is of ``a`` (their resemblance), 0.0 when it is not a copy.

    The closest copy wins: a copy with a paragraph of another, short article added contains
    all of that one, but resembles its own original more.
    """
    j = resemblance(a, b)
    short = min(int(a[PERMUTATIONS]), int(b[PERMUTATIONS])) < SHORT
    if j < (SHORT_RESEMBLANCE if short else RESEMBLANCE):
        return 0.0
    return j if containment(a, b, j) >= CONTAINMENT else 0.0


def headline_key(article: Article) -> int | None:
    """The one key of a headline-only record: its title and day (None without a date)."""
    if not article.title or article.date is None:
        return None
    norm = " ".join(_WORD.findall(article.title.lower()))
    return zlib.crc32(f"{norm}|{article.date.date().isoformat()}".encode()) | (1 << 40)


class StoryGrouper:
    """Gives each article of an indexing run its story id: the id of the story's first article.

    ``lookup`` finds the stories already in the index: called with an article's keys, it
    returns the (id, story, signature bytes or None) of the indexed articles sharing one.
    """

    def __init__(
        self, lookup: Callable[[list[int]], Iterable[tuple[str, str, bytes | None]]] | None = None
    ) -> None:
        self.lookup = lookup
        self._keys: dict[int, int] = {}  # band or headline key -> entry
        self._entries: list[tuple[str, str, np.ndarray | None]] = []  # (id, story, signature)
        self._paired = 0  # entries whose keys pairs() has given

    def fields(self, article: Article, sig: np.ndarray | None = None) -> dict[str, Any]:
        """The document fields of the article's story: ``story`` and ``minhash``.

        ``sig``: the body's :func:`signature` when made ahead (by an enrichment worker).
        """
        if not article.text:
            key = headline_key(article)
            if key is None:
                return {"story": article.id}
            keys, sig = [key], None
        else:
            found = sig if sig is not None else signature(article.text)
            if found is None:
                return {"story": article.id}
            sig = found
            keys = band_keys(sig)
        story = self._find(article.id, keys, sig)
        entry = len(self._entries)
        self._entries.append((article.id, story, sig))
        for key in keys:
            self._keys.setdefault(key, entry)
        fields: dict[str, Any] = {"story": story}
        if sig is not None:
            fields["minhash"] = sig.tobytes()
        return fields

    def pairs(self) -> list[tuple[int, str]]:
        """(key, id of its first article) for the keys first seen since the previous call."""
        mark, self._paired = self._paired, len(self._entries)
        return [(key, self._entries[e][0]) for key, e in self._keys.items() if e >= mark]

    def _find(self, article_id: str, keys: list[int], sig: np.ndarray | None) -> str:
        """The story of the best matching earlier article, or the article's own id."""
        best, best_score = article_id, -1.0
        candidates: dict[str, tuple[str, np.ndarray | None]] = {}
        for key in keys:
            entry = self._keys.get(key)
            if entry is not None:
                other_id, story, other_sig = self._entries[entry]
                candidates.setdefault(other_id, (story, other_sig))
        if self.lookup is not None:
            for other_id, story, raw in self.lookup(keys):
                if other_id not in candidates:
                    other = np.frombuffer(raw, dtype=np.uint32) if raw else None
                    candidates[other_id] = (story, other)
        for other_id, (story, other) in candidates.items():
            if other_id == article_id:
                continue  # the article's own older version
            if sig is None or other is None:
                # headline keys: title and day equal; never a headline with a body
                score = 1.0 if sig is None and other is None else 0.0
            elif len(other) != len(sig):
                score = 0.0  # a signature of another layout
            else:
                score = is_copy(sig, other)
            if score > 0 and score > best_score:
                best, best_score = story, score
        return best


def kept_fields(article: Article, story: str | None) -> dict[str, Any]:
    """The story fields of an indexed article rewritten as it is (its story kept)."""
    fields: dict[str, Any] = {"story": story or article.id}
    sig = signature(article.text) if article.text else None
    if sig is not None:
        fields["minhash"] = sig.tobytes()
    return fields
