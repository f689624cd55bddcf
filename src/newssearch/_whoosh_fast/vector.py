"""Whole-list query evaluation: Whoosh's matcher trees computed over numpy posting arrays.

Whoosh scores one matching document at a time through a tree of Python matcher objects, which
is slow for queries with many matches. Here Whoosh still builds the
matcher tree (so query semantics, tree shape, scorers and boosts are its own), and each node
is evaluated over whole arrays instead: a leaf reads its posting list block by block into
arrays of document numbers and weights and scores them with the BM25F formula at once; unions,
intersections, exclusions, boosts and the coordination bonus combine their children's arrays.
Floating-point operations run in Whoosh's order, so scores and tie order equal its collector's
(tests compare the two on every query shape the parser makes).

A matcher this module does not know raises :class:`Unsupported`, and the caller runs Whoosh's
own collector instead. Reading posting blocks and field lengths uses internals of Whoosh 2.7.4
(pinned below 2.8; the final release): its public API has no bulk access to either.
"""

from __future__ import annotations

import io
import pickle
import threading
import time
import weakref
import zlib
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import (
    AndMaybeMatcher,
    AndNotMatcher,
    ConstantScoreWrapperMatcher,
    CoordMatcher,
    FilterMatcher,
    IntersectionMatcher,
    InverseMatcher,
    ListMatcher,
    NullMatcherClass,
    UnionMatcher,
    WrappingMatcher,
)
from whoosh.matching.combo import ArrayUnionMatcher
from whoosh.query.spans import SpanNear2
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.searching import Searcher, TimeLimit
from whoosh.util.numeric import byte_to_length

from .columns import length_bytes

# Field length per stored length byte, as Whoosh decodes it (lossy: lengths are kept in one byte).
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_SPAN_NEAR = SpanNear2.SpanNear2Matcher  # phrases
#: Field lengths per open segment reader, dropped with the reader (a new searcher reads anew).
_LENGTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Unsupported(Exception):
    """The matcher tree holds a matcher this module cannot evaluate (use Whoosh's collector)."""


@dataclass(frozen=True)
class Matches:
    """The matches of one matcher in one segment: ascending docnums, scores, matching terms."""

    ids: np.ndarray
    scores: np.ndarray
    #: per match, how many term matchers of the tree match it (Whoosh's coordination count)
    terms: np.ndarray


_EMPTY = Matches(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int64))


def evaluate(searcher: Searcher, q, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Global docnums (ascending) and scores of every match of ``q``, as Whoosh would score them.

    Raises Unsupported for matchers it does not know, and Whoosh's TimeLimit after ``deadline``
    (a ``time.monotonic()`` value), checked between segments and inside long posting lists.
    """
    context = searcher.context()
    ids, scores = [], []
    _deadline.value = deadline
    try:
        for leaf, offset in searcher.leaf_searchers():
            found = _evaluate(q.matcher(leaf, context), leaf.reader())
            ids.append(found.ids + offset)
            scores.append(found.scores)
            _check_deadline()
    finally:
        _deadline.value = None
    return np.concatenate(ids), np.concatenate(scores)


#: the running evaluation's deadline (per thread: a process may search in several)
_deadline = threading.local()


def _check_deadline() -> None:
    deadline = getattr(_deadline, "value", None)
    if deadline is not None and time.monotonic() > deadline:
        raise TimeLimit


def top(docnums: np.ndarray, scores: np.ndarray, limit: int | None) -> list[tuple[int, float]]:
    """The ``limit`` best (docnum, score) pairs (all when None), best first, ties by docnum."""
    if limit is not None and limit < len(scores):
        # everything scoring at least the limit-th best score, ties included, then exact order
        kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = np.flatnonzero(scores >= kth)
        docnums, scores = docnums[keep], scores[keep]
    order = np.lexsort((docnums, -scores))[:limit]
    # tolist(): Python ints and floats in one step (int()/float() per numpy scalar is slower)
    return list(zip(docnums[order].tolist(), scores[order].tolist(), strict=True))


def _evaluate(m, leaf) -> Matches:
    """The matches of matcher ``m`` over segment reader ``leaf``."""
    _check_deadline()  # between the parts of a large OR (a wildcard's thousands of terms)
    kind = type(m)
    if kind is NullMatcherClass:
        return _EMPTY
    if kind is W3LeafMatcher or kind is ListMatcher:
        return _leaf(m, leaf)
    if kind is UnionMatcher:
        return _union(_evaluate(m.a, leaf), _evaluate(m.b, leaf))
    if kind is IntersectionMatcher:
        a, b = _evaluate(m.a, leaf), _evaluate(m.b, leaf)
        ids, ia, ib = np.intersect1d(a.ids, b.ids, assume_unique=True, return_indices=True)
        return Matches(ids, a.scores[ia] + b.scores[ib], a.terms[ia] + b.terms[ib])
    if kind is AndNotMatcher:
        a, b = _evaluate(m.a, leaf), _evaluate(m.b, leaf)
        return _subset(a, ~np.isin(a.ids, b.ids, assume_unique=True))
    if kind is AndMaybeMatcher:
        a, b = _evaluate(m.a, leaf), _evaluate(m.b, leaf)
        return _subset(_union(a, b), None, a.ids)
    if kind is WrappingMatcher:
        child = _evaluate(m.child, leaf)
        return Matches(child.ids, child.scores * m.boost, child.terms)
    if kind is FilterMatcher:  # deleted documents, among others
        child = _evaluate(m.child, leaf)
        listed = np.isin(child.ids, np.fromiter(m._ids, dtype=np.int64))
        kept = _subset(child, ~listed if m._exclude else listed)
        return Matches(kept.ids, kept.scores * m.boost, kept.terms)
    if kind is ConstantScoreWrapperMatcher:
        child = _evaluate(m.child, leaf)
        return Matches(child.ids, np.full(len(child.ids), float(m.score())), child.terms)
    if isinstance(m, CoordMatcher):  # Whoosh's and ours (search.StableCoordMatcher): same _sqr use
        child = _evaluate(m.child, leaf)
        return Matches(child.ids, m._sqr(child.scores, child.terms), child.terms)
    if kind is InverseMatcher:  # NOT: every document the child does not match, but no deleted one
        child = _evaluate(m.child, leaf)
        keep = np.ones(m.limit, dtype=bool)
        keep[child.ids] = False
        if leaf.has_deletions():
            keep[[d for d in range(m.limit) if m.missing(d)]] = False
        ids = np.flatnonzero(keep).astype(np.int64)
        return Matches(
            ids, np.full(len(ids), float(m.weight())), np.zeros(len(ids), dtype=np.int64)
        )
    if kind is ArrayUnionMatcher:
        return _array_union(m, leaf)
    if kind is _SPAN_NEAR:
        # which documents hold the words in order is Whoosh's (positions, per candidate), asked
        # of a fresh copy (an OR over small segments reads its children through at construction);
        # their scores are those of the intersection below
        child = _evaluate(m.child, leaf)
        return _subset(child, None, np.fromiter(_fresh(m).all_ids(), dtype=np.int64))
    raise Unsupported(kind.__name__)


def _union(a: Matches, b: Matches) -> Matches:
    ids = _sorted_union(a.ids, b.ids)
    ia, ib = np.searchsorted(ids, a.ids), np.searchsorted(ids, b.ids)
    scores = np.zeros(len(ids))
    scores[ia] = a.scores
    scores[ib] += b.scores  # a + b where both match, x + 0.0 == x elsewhere: Whoosh's sums
    terms = np.zeros(len(ids), dtype=np.int64)
    terms[ia] = a.terms
    terms[ib] += b.terms
    return Matches(ids, scores, terms)


def _sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.union1d(a, b)`` of two ascending arrays without repeats, in linear time.

    A stable sort of the two runs is one merge; ``union1d`` sorts (or hashes) from scratch, over
    ten times slower on posting lists.
    """
    both = np.concatenate((a, b))
    both.sort(kind="stable")
    if len(both) < 2:
        return both
    keep = np.empty(len(both), dtype=bool)
    keep[0] = True
    np.not_equal(both[1:], both[:-1], out=keep[1:])
    return both[keep]


def _subset(found: Matches, mask: np.ndarray | None, ids: np.ndarray | None = None) -> Matches:
    """The matches where ``mask`` holds, or those whose docnum is in ``ids`` (ascending)."""
    if mask is None:
        assert ids is not None
        mask = np.isin(found.ids, ids, assume_unique=True)
    return Matches(found.ids[mask], found.scores[mask], found.terms[mask])


def _array_union(m: ArrayUnionMatcher, leaf) -> Matches:
    # Whoosh's OR for small segments: per part of `partsize` documents starting at the lowest
    # pending docnum, it sums score * boost into an array in child order and reports the part's
    # first document and every other one whose sum is above 0 (unscored, as on the excluded
    # side of a NOT: 1 per document). Its children have moved past every reported document, so
    # none counts as a matching term.
    children = [_evaluate(c, leaf) for c in m.children()]
    ids = np.unique(np.concatenate([c.ids for c in children])) if children else _EMPTY.ids
    scores = np.zeros(len(ids))
    for c in children:
        if m._scored:
            scores[np.searchsorted(ids, c.ids)] += c.scores * m._boost
        else:
            scores[np.searchsorted(ids, c.ids)] = 1.0
    keep = scores > 0
    start = 0
    while start < len(ids):
        keep[start] = True
        start = int(np.searchsorted(ids, min(ids[start] + m._partsize, m._doccount)))
    return Matches(ids[keep], scores[keep], np.zeros(int(keep.sum()), dtype=np.int64))


def _fresh(m):
    """A copy of matcher ``m`` at its first posting (Whoosh's copy() is missing or keeps it)."""
    kind = type(m)
    if kind is W3LeafMatcher:
        return W3LeafMatcher(
            m._postfile, m._startoffset, m._length, m.format, term=m._term, scorer=m.scorer
        )
    if kind is ListMatcher:
        return ListMatcher(
            m._ids, m._weights, m._values, m._format, m._scorer, 0, m._all_weights, m._term
        )
    if kind is FilterMatcher:
        return FilterMatcher(_fresh(m.child), m._ids, exclude=m._exclude, boost=m.boost)
    if kind is WrappingMatcher:
        return WrappingMatcher(_fresh(m.child), boost=m.boost)
    if kind is _SPAN_NEAR:
        return _SPAN_NEAR(
            [_fresh(c) for c in m.ms], slop=m.slop, ordered=m.ordered, mindist=m.mindist
        )
    raise Unsupported(f"fresh {kind.__name__}")


def _leaf(m, leaf) -> Matches:
    if type(m) is W3LeafMatcher:
        ids, weights = _block_postings(m)
        scorer = m.scorer
    else:
        ids = np.asarray(m._ids, dtype=np.int64)
        if m._all_weights:
            weights = np.full(len(ids), float(m._all_weights))
        elif m._weights:
            weights = np.asarray(m._weights, dtype=np.float64)
        else:
            weights = np.ones(len(ids))
        scorer = m._scorer
    if scorer is None or type(scorer) is WeightScorer:
        scores = weights
    elif type(scorer) is BM25FScorer:
        if m.term() is None:
            raise Unsupported("BM25F scorer without a term")
        lengths = _field_lengths(leaf, m.term()[0])[ids]
        idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        # whoosh.scoring.bm25, term for term
        scores = idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / avgfl)))
    else:
        raise Unsupported(type(scorer).__name__)
    return Matches(ids, scores, np.full(len(ids), 1 if m.term() is not None else 0, dtype=np.int64))


def _block_postings(m: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray]:
    """(docnums, weights) of a whole on-disk posting list, one array operation per block."""
    if m._byteids:
        raise Unsupported("byte ids")
    # a fresh reader of the same list: the tree's own matcher may have moved on (phrases do)
    fresh = _fresh(m)
    ids: list = []
    weights: list = []
    while fresh.is_active():
        if len(ids) % 64 == 63:  # a long list: check the time limit every 64 blocks
            _check_deadline()
        _read_scoring_data(fresh)
        ids.append(
            np.cumsum(np.asarray(fresh._data[0], dtype=np.int64))
        )  # ids are delta-coded per block
        fresh._read_weights()
        weights.append(np.asarray(fresh._weights, dtype=np.float64))
        fresh._next_block()
    if not ids:
        return _EMPTY.ids, _EMPTY.scores
    return np.concatenate(ids), np.concatenate(weights)


class _ScoringUnpickler(pickle.Unpickler):
    """Reads a posting block's (ids, weights, values) pickle without decoding the values.

    Scoring needs ids and weights only; the values (each posting's encoded positions, written
    as bytes by protocol 2, so one ``_codecs.encode`` call each) become placeholders. A block
    naming any other global is refused (and read by Whoosh's own, restricted, path instead).
    """

    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):
            return slice  # a C callable of two arguments: a cheap placeholder
        if (module, name) in (("__builtin__", "bytes"), ("builtins", "bytes")):
            return bytes  # how protocol 2 writes an empty bytes value
        raise pickle.UnpicklingError(f"a posting block names {module}.{name}")


def _read_scoring_data(m: W3LeafMatcher) -> None:
    """``m._read_data()`` for scoring: ids and weights as Whoosh reads them, values skipped."""
    raw = m._postfile.get(m._dataoffset, m._nextoffset - m._dataoffset)
    if m._compression:
        raw = zlib.decompress(raw)
    try:
        # a buffered stream: the C unpickler then reads ahead instead of calling read() per opcode
        stream = io.BufferedReader(io.BytesIO(raw), buffer_size=max(len(raw), 1))
        data = _ScoringUnpickler(stream).load()
    except pickle.UnpicklingError:
        m._read_data()
        return
    m._data = (data[0], data[1], None)


def _field_lengths(leaf, fieldname: str) -> np.ndarray:
    """Length of ``fieldname`` per document of the segment, as Whoosh's BM25F reads it."""

    def read() -> np.ndarray:
        size = leaf.doc_count_all()
        stored = length_bytes(leaf._perdoc, fieldname)
        if stored is None:
            return np.ones(size)  # Whoosh's default when a segment has no lengths
        count = min(len(stored), size)
        raw = np.zeros(size, dtype=np.uint8)
        raw[:count] = np.frombuffer(stored, dtype=np.uint8, count=count)
        return _LENGTH_OF_BYTE[raw]

    per_field = _LENGTHS.setdefault(leaf, {})
    if fieldname not in per_field:
        per_field[fieldname] = read()
    return per_field[fieldname]
