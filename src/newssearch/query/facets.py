"""Facets and filters: counts over ALL matches, read from per-document columns, not stored fields.

Facet values live in Whoosh columns written in the same commit as their documents
(``topic_facet``, ``entity_facet``, ``source_facet``, ``date``), so counts can never disagree
with the index. Each segment's columns are read once into numpy arrays (:class:`FacetTables`);
counting is array operations over the matching docnums. Filters are term queries on exact keys.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from .. import caches
from .._whoosh_fast.columns import live_docnums
from ..errors import QueryError
from ..index.columns import leaf_column
from ..index.schema import ENTITY_FIELDS, FIELD_LABELS, entity_term, split_entities, split_topics
from ..text.names import name_key

ENTITY_FACETS = ("person", "org", "place")
FACETS = ("topic", *ENTITY_FACETS, "source", "date")
FILTERS = ("topic", *ENTITY_FACETS, "source")
#: "auto" picks the interval from the matches' date range so the histogram stays a few bars.
INTERVALS = ("auto", "year", "month", "week", "day")


class EntityMap:
    """Archive-wide entity names: entity term ("per:merkel") -> canonical facet value.

    Values are "PER:Angela Merkel" ("" for a name never shown); made by the archive-wide pass
    (:mod:`newssearch.archive.resolve`). Terms the table does not know (indexed after the pass
    ran) count under their own name.
    """

    def __init__(self, names: Mapping[str, str], version: str = "") -> None:
        self.names = dict(names)
        self.version = version
        self._terms: dict[str, list[str]] | None = None

    def canonical(self, label: str, name: str) -> str | None:
        """The canonical "LABEL:Name" of a name ("" never shown, None when unknown)."""
        return self.names.get(entity_term(label, name_key(name)))

    def terms(self, label: str, name: str) -> list[str]:
        """The entity terms a filter by this name finds: every name joined to its canonical one."""
        own = entity_term(label, name_key(name))
        value = self.names.get(own)
        if value is None:
            # not a name of the archive under this kind: maybe a canonical name's spelling
            value = f"{label}:{name}"
        if not value:
            return [own]
        if self._terms is None:
            self._terms = {}
            for term, canonical in self.names.items():
                if canonical:
                    self._terms.setdefault(self._value_key(canonical), []).append(term)
        return sorted({own, *self._terms.get(self._value_key(value), ())})

    @staticmethod
    def _value_key(value: str) -> str:
        return entity_term(value[:3], name_key(value[4:]))


@dataclass(frozen=True)
class Filters:
    """Restrictions on matches: all of the topics and entities, any of the sources, dates within
    [date_from, date_to]."""

    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: (facet, name) pairs such as ("person", "Wladimir Putin"): an article must name all of them
    entities: tuple[tuple[str, str], ...] = ()
    #: the archive's canonical names: a filter by any alias finds the canonical entity's articles
    entity_map: EntityMap | None = None

    @classmethod
    def build(
        cls,
        filters: dict[str, Sequence[str]] | None = None,
        date_from: dt.date | str | None = None,
        date_to: dt.date | str | None = None,
        entity_map: EntityMap | None = None,
    ) -> Filters:
        """Check and normalise the API's ``filters`` mapping and date bounds."""
        filters = dict(filters or {})
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise QueryError(
                f"cannot filter by {unknown[0]!r}: filterable facets are: {', '.join(FILTERS)} "
                f"(and date_from/date_to)"
            )
        values = {name: _strings(filters.get(name, ()), name) for name in FILTERS}
        entities = tuple((name, value) for name in ENTITY_FACETS for value in values[name])
        return cls(
            values["source"],
            values["topic"],
            _as_date(date_from, "date_from"),
            _as_date(date_to, "date_to"),
            entities,
            entity_map,
        )

    def query(self) -> wq.Query | None:
        """The filter as a Whoosh query (None when nothing is filtered)."""
        parts: list[wq.Query] = []
        if self.sources:  # one source per article: several sources mean "any of them"
            parts.append(wq.Or([wq.Term("source_facet", s) for s in self.sources]))
        # an article has several topics: several topics mean "all of them" (drilling down)
        parts.extend(wq.Term("topic", t.strip().lower()) for t in self.topics)
        # the facet value's spelling does not matter: case, quotes and hyphens are normalised away
        for facet, name in self.entities:
            label = FIELD_LABELS[facet]
            terms = (
                self.entity_map.terms(label, name)
                if self.entity_map is not None
                else [entity_term(label, name_key(name))]
            )
            parts.append(
                wq.Term("entity", terms[0])
                if len(terms) == 1
                else wq.Or([wq.Term("entity", t) for t in terms])
            )
        if self.date_from or self.date_to:
            start = dt.datetime.combine(self.date_from, dt.time.min) if self.date_from else None
            end = dt.datetime.combine(self.date_to, dt.time.max) if self.date_to else None
            parts.append(wq.DateRange("date", start, end))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else wq.And(parts)


def _strings(value: str | Sequence[str], name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise QueryError(f"filter {name!r} takes a list of non-empty strings, got {value!r}")
    return tuple(value)


def _as_date(value: dt.date | str | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name} must be a date such as 2016-03-31, got {value!r}") from None


def count(
    searcher: Searcher,
    docnums: Iterable[int] | np.ndarray | None,
    names: Sequence[str],
    interval: str = "month",
    top: int = 10,
    entity_map: EntityMap | None = None,
) -> dict[str, tuple[tuple[str, int], ...]]:
    """Facet values with counts over ``docnums`` (None: every article): topics and sources by
    count, dates in time order.

    With ``entity_map``, people, organisations and places are counted under their canonical names.
    """
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise QueryError(f"unknown facet {unknown[0]!r}: choose from {', '.join(FACETS)}")
    if interval not in INTERVALS:
        raise QueryError(f"unknown date interval {interval!r}: choose from {', '.join(INTERVALS)}")
    if docnums is None:
        docs = live_docnums(searcher.reader())
    elif isinstance(docnums, np.ndarray):
        docs = docnums
    else:
        docs = np.unique(np.fromiter(docnums, dtype=np.int64))
    tables = facet_tables(searcher.reader())
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    if "topic" in names:
        table = tables.table("topic")
        out["topic"] = top_values(table.values, table.count(docs), top)
    wanted = [n for n in ENTITY_FACETS if n in names]
    if wanted:
        if entity_map is not None:
            out.update(tables.canonical_counts(docs, wanted, top, entity_map))
        else:
            out.update(tables.entity_counts(docs, wanted, top))
    if "source" in names:
        table = tables.table("source")
        out["source"] = top_values(table.values, table.count(docs), top)
    if "date" in names:
        dated = tables.days()[docs]
        dated = dated[dated >= 0]  # -1: no date
        days, n = _day_counts(dated)
        if interval == "auto":
            interval = auto_interval(int(days[-1] - days[0]) if len(days) else 0)
        counts: Counter = Counter()
        for day, k in zip(days.tolist(), n.tolist(), strict=True):
            counts[_bucket_of(interval, day)] += k
        out["date"] = _with_gaps(sorted(counts.items()), interval)
    return out


def _day_counts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct days (ascending) and how often each occurs: np.unique's answer, by counting."""
    if not len(days):
        return days, days
    low = int(days.min())
    counts = np.bincount(days - low)
    present = np.flatnonzero(counts)
    return present + low, counts[present]


#: (interval, day number) -> bucket label: an archive has a few thousand days
_DAY_BUCKETS: dict[tuple[str, int], str] = {}


def _bucket_of(interval: str, day: int) -> str:
    """The date bucket ("2016-03", "2016-W09", ...) of a day counted from 1970-01-01."""
    label = _DAY_BUCKETS.get((interval, day))
    if label is None:
        label = _BUCKETS[interval](_EPOCH + dt.timedelta(days=day))
        if len(_DAY_BUCKETS) < caches.DAY_BUCKETS:
            _DAY_BUCKETS[(interval, day)] = label
    return label


def auto_interval(span_days: int) -> str:
    """The date bucket for a range of ``span_days``: at most about 25 bars below a year's span."""
    if span_days > 730:
        return "year"
    if span_days > 90:
        return "month"
    if span_days > 14:
        return "week"
    return "day"


def known_values(searcher: Searcher, facet: str) -> list[str]:
    """Every value of a facet in the index (entity names as written), for did-you-mean."""
    if facet not in FILTERS:
        raise QueryError(f"unknown facet {facet!r}: choose from {', '.join(FILTERS)}")
    tables = facet_tables(searcher.reader())
    if facet in ENTITY_FACETS:
        prefix = FIELD_LABELS[facet] + ":"
        return [v[4:] for v in tables.table("entity").values if v.startswith(prefix)]
    return list(tables.table(facet).values)


def top_values(values: Sequence[str], counts: np.ndarray, top: int) -> tuple[tuple[str, int], ...]:
    """The ``top`` values by count (ties in value order), zero counts left out."""
    nonzero = _contenders(np.flatnonzero(counts), counts, top)
    return _by_count({values[i]: int(counts[i]) for i in nonzero.tolist()}, top)


def _only(counts: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``counts`` with every position but ``ids`` set to zero."""
    kept = np.zeros_like(counts)
    kept[ids] = counts[ids]
    return kept


def _contenders(ids: np.ndarray, counts: np.ndarray, top: int) -> np.ndarray:
    """The ``ids`` whose count can make the top ``top`` (ties included): only these are sorted in
    Python."""
    if len(ids) <= 4 * top:
        return ids
    cut = np.partition(counts[ids], len(ids) - top)[len(ids) - top]
    return ids[counts[ids] >= cut]


class FacetTable:
    """One facet as compact ids: document d has values ``ids[indptr[d]:indptr[d + 1]]``."""

    def __init__(self, indptr: np.ndarray, ids: np.ndarray, values: list[str]) -> None:
        self.indptr, self.ids, self.values = indptr, ids, values

    def count(self, docs: np.ndarray) -> np.ndarray:
        """How many of ``docs`` (sorted global docnums) have each value id."""
        return np.bincount(self.gather(docs), minlength=len(self.values))

    def gather(self, docs: np.ndarray) -> np.ndarray:
        """The value ids of ``docs``, concatenated."""
        starts = self.indptr[docs]
        lengths = self.indptr[docs + 1] - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(0, dtype=np.int64)
        ends = np.cumsum(lengths)
        positions = np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
        return self.ids[positions]


class FacetTables:
    """The facet values of every document of a reader as arrays, built from its columns once.

    Each segment's values are parsed once (segments never change; deleted documents never
    match) and kept by segment id, so after an incremental run only new segments are read;
    the reader-wide tables join the segments' under one vocabulary per facet.
    """

    def __init__(self, reader: IndexReader) -> None:
        # weak: with one segment the leaf is the reader itself, the key these tables are cached
        # under
        self._leaves = [
            (segment_values(leaf), weakref.ref(leaf), offset)
            for leaf, offset in reader.leaf_readers()
        ]
        self._size = reader.doc_count_all()
        self._tables: dict[str, FacetTable] = {}
        self._days: np.ndarray | None = None
        self._dates: np.ndarray | None = None
        self._entities: tuple[np.ndarray, np.ndarray] | None = None
        self._canonical: tuple[str, FacetTable] | None = None
        self._canonical_names: tuple[np.ndarray, list[str]] = (np.zeros(0, dtype=np.int64), [])

    def table(self, facet: str) -> FacetTable:
        """The joined table of "topic", "source" or "entity" (spellings "PER:Name")."""
        if facet not in self._tables:
            vocab: dict[str, int] = {}
            indptr = np.zeros(self._size + 1, dtype=np.int64)
            parts = []
            for values, leaf, offset in self._leaves:
                seg_indptr, seg_ids, seg_values = values.table(facet, leaf())
                mapping = np.fromiter(
                    (vocab.setdefault(v, len(vocab)) for v in seg_values),
                    dtype=np.int64,
                    count=len(seg_values),
                )
                parts.append(mapping[seg_ids])
                n = len(seg_indptr) - 1
                indptr[offset + 1 : offset + n + 1] = np.diff(seg_indptr)
            np.cumsum(indptr, out=indptr)
            ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            self._tables[facet] = FacetTable(indptr, ids, list(vocab))
        return self._tables[facet]

    def dates(self) -> np.ndarray:
        """Each document's raw date value, Whoosh's sort key for the date field."""
        if self._dates is None:
            dates = np.full(self._size, NO_DATE, dtype=np.uint64)
            for values, leaf, offset in self._leaves:
                seg = values.dates(leaf())
                dates[offset : offset + len(seg)] = seg
            self._dates = dates
        return self._dates

    def days(self) -> np.ndarray:
        """Each document's date as days since 1970-01-01 (-1: no date)."""
        if self._days is None:
            raw = self.dates()
            days = np.full(self._size, -1, dtype=np.int64)
            dated = raw < np.uint64(NO_DATE)
            # DATETIME columns hold microseconds since 0001-01-01
            days[dated] = (raw[dated] // np.uint64(86_400_000_000)).astype(
                np.int64
            ) - _EPOCH_ORDINAL
            self._days = days
        return self._days

    def entity_counts(
        self, docs: np.ndarray, names: Sequence[str], top: int
    ) -> dict[str, tuple[tuple[str, int], ...]]:
        """Articles per entity, shown in its commonest spelling.

        An article holds each name once (one spelling, one kind: see ``entities.distinct``), so
        counting spellings and merging those with the same key afterwards counts articles.
        """
        table = self.table("entity")
        key_facets, key_of = self._entity_keys()
        spelling_counts = table.count(docs)
        key_counts = np.bincount(key_of, weights=spelling_counts, minlength=len(key_facets)).astype(
            np.int64
        )
        present = np.flatnonzero(spelling_counts)  # spellings among the matches
        present_keys = key_of[present]
        out = {}
        for name in names:
            in_facet = np.flatnonzero(key_counts * (key_facets == ENTITY_FACETS.index(name)))
            in_facet = _contenders(in_facet, key_counts, top)
            shown = {}
            for k in in_facet.tolist():
                spellings = present[present_keys == k]
                variants = {
                    table.values[i][4:]: int(spelling_counts[i]) for i in spellings.tolist()
                }
                shown[_by_count(variants, 1)[0][0]] = int(key_counts[k])
            out[name] = _by_count(shown, top)
        return out

    def canonical_counts(
        self, docs: np.ndarray, names: Sequence[str], top: int, entity_map: EntityMap
    ) -> dict[str, tuple[tuple[str, int], ...]]:
        """Articles per canonical entity name (each article counted once per name)."""
        table = self.canonical_table(entity_map)
        facet_of, shown = self._canonical_names
        counts = table.count(docs)
        out = {}
        for name in names:
            ids = np.flatnonzero(counts * (facet_of == ENTITY_FACETS.index(name)))
            out[name] = top_values(shown, _only(counts, ids), top)
        return out

    def canonical_table(self, entity_map: EntityMap) -> FacetTable:
        """Each document's canonical entity values ("PER:Angela Merkel"), each once."""
        if self._canonical is not None and self._canonical[0] == entity_map.version:
            return self._canonical[1]
        raw = self.table("entity")
        vocab: dict[str, int] = {}
        fallback: dict[tuple[str, str], str] = {}  # names the map does not know: one per key
        mapping = np.full(len(raw.values), -1, dtype=np.int64)
        for i, value in enumerate(raw.values):
            label, name = value[:3], value[4:]
            canonical = entity_map.canonical(label, name)
            if canonical is None:
                canonical = fallback.setdefault((label, name_key(name)), value)
            if canonical:
                mapping[i] = vocab.setdefault(canonical, len(vocab))
        ids = mapping[raw.ids] if len(raw.ids) else raw.ids
        docs = np.repeat(np.arange(self._size, dtype=np.int64), np.diff(raw.indptr))
        kept = ids >= 0
        # an article naming "Merkel" and "Angela Merkel" names Angela Merkel once
        pairs = np.unique(docs[kept] * max(len(vocab), 1) + ids[kept])
        doc_of, id_of = np.divmod(pairs, max(len(vocab), 1))
        indptr = np.zeros(self._size + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(np.bincount(doc_of, minlength=self._size))
        table = FacetTable(indptr, id_of, list(vocab))
        self._canonical = (entity_map.version, table)
        # each canonical value's facet number and the name shown
        self._canonical_names = (
            np.fromiter(
                (ENTITY_FACETS.index(ENTITY_FIELDS[v[:3]]) for v in table.values),
                dtype=np.int64,
                count=len(table.values),
            ),
            [v[4:] for v in table.values],
        )
        return table

    def _entity_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """(facet number of each name key, key number of each spelling)."""
        if self._entities is None:
            values = self.table("entity").values
            labels = {label: ENTITY_FACETS.index(facet) for facet, label in FIELD_LABELS.items()}
            index: dict[tuple[int, str], int] = {}
            key_of = np.fromiter(
                (
                    index.setdefault((labels.get(v[:3], -1), name_key(v[4:])), len(index))
                    for v in values
                ),
                dtype=np.int64,
                count=len(values),
            )
            self._entities = (
                np.fromiter((f for f, _ in index), dtype=np.int64, count=len(index)),
                key_of,
            )
        return self._entities


class _SegmentValues:
    """One segment's facet values as arrays, parsed from its columns on first use.

    Kept across searchers, so it holds no reader: each parse reads the columns through the
    leaf reader of the searcher asking.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._tables: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
        self._memo: dict = {}

    def memo(self, key, build):
        """Any other per-segment array, made by ``build()`` on first use."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def table(self, facet: str, leaf: IndexReader) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(indptr, ids, values) of one facet over this segment's documents."""
        if facet not in self._tables:
            parse = _PARSERS[facet]
            column = leaf_column(leaf, _COLUMN_OF[facet], translate=True)
            vocab: dict[str, int] = {}
            lengths = np.zeros(self._size + 1, dtype=np.int64)
            ids: list[int] = []
            if column is not None:
                for d in range(self._size):
                    found = parse(column[d])
                    ids.extend(vocab.setdefault(v, len(vocab)) for v in found)
                    lengths[d + 1] = len(found)
            self._tables[facet] = (np.cumsum(lengths), np.asarray(ids, dtype=np.int64), list(vocab))
        return self._tables[facet]

    def dates(self, leaf: IndexReader) -> np.ndarray:
        """The raw date column per document: Whoosh's sort key (``NO_DATE`` where undated)."""
        return self.memo("dates", lambda: self._read_dates(leaf))

    def _read_dates(self, leaf: IndexReader) -> np.ndarray:
        column = leaf_column(leaf, "date", translate=False)
        if column is None:
            return np.full(self._size, NO_DATE, dtype=np.uint64)
        return np.fromiter(
            (column[d] for d in range(self._size)), dtype=np.uint64, count=self._size
        )


def _topic_values(raw: bytes | None) -> list[str]:
    section, user = split_topics(raw or b"")
    return list(dict.fromkeys(v for v in (section, *user) if v))


_PARSERS: dict[str, Callable[[Any], list[str]]] = {
    "topic": _topic_values,
    "entity": lambda raw: [f"{label}:{name}" for label, name in split_entities(raw or b"")],
    "source": lambda value: [value] if value else [],
    "story": lambda value: [value] if value else [],
}
_COLUMN_OF = {
    "topic": "topic_facet",
    "entity": "entity_facet",
    "source": "source_facet",
    "story": "story",
}
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal() - 1  # days from 0001-01-01 to 1970-01-01

# Parsed segments by segment id: a segment's documents never change (deletions never match).
_SEGMENTS: OrderedDict[tuple[str, int], _SegmentValues] = OrderedDict()
_SEGMENT_CACHE = caches.SEGMENTS
# Joined tables per reader: a searcher's segments do not change while it lives.
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def segment_values(leaf: IndexReader) -> _SegmentValues:
    """The cached arrays of ``leaf``'s segment (parsed on first use, kept by segment id)."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    # segment ids carry a random part: unique across indexes, never reused for other documents
    ident = (segment.segment_id(), leaf.doc_count_all()) if segment is not None else None
    if ident is None:
        return _SegmentValues(leaf.doc_count_all())
    found = _SEGMENTS.get(ident)
    if found is None:
        found = _SEGMENTS[ident] = _SegmentValues(leaf.doc_count_all())
        while len(_SEGMENTS) > _SEGMENT_CACHE:
            _SEGMENTS.popitem(last=False)
    else:
        _SEGMENTS.move_to_end(ident)
    return found


def facet_tables(reader: IndexReader) -> FacetTables:
    """The (cached) facet tables of ``reader``."""
    tables = _TABLES.get(reader)
    if tables is None:
        tables = _TABLES[reader] = FacetTables(reader)
    return tables


def _by_count(counts: Mapping[str, int], top: int) -> tuple[tuple[str, int], ...]:
    """The ``top`` values, most frequent first, ties in name order."""
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top])


def _with_gaps(buckets: list[tuple[str, int]], interval: str) -> tuple[tuple[str, int], ...]:
    """Years and months without matches are listed with 0, so the histogram shows the gaps."""
    if interval not in ("year", "month") or len(buckets) < 2:
        return tuple(buckets)
    counts = dict(buckets)
    first, last = buckets[0][0], buckets[-1][0]
    if interval == "year":
        keys = [f"{y:04d}" for y in range(int(first), int(last) + 1)]
    else:
        start, end = (
            int(first[:4]) * 12 + int(first[5:]) - 1,
            int(last[:4]) * 12 + int(last[5:]) - 1,
        )
        keys = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(start, end + 1)]
    return tuple((key, counts.get(key, 0)) for key in keys)


NO_DATE = 2**64 - 1  # Whoosh's default for a missing value in an unsigned 64-bit column

_BUCKETS = {
    "year": lambda d: f"{d.year:04d}",
    "month": lambda d: f"{d.year:04d}-{d.month:02d}",
    "week": lambda d: "{:04d}-W{:02d}".format(*d.isocalendar()[:2]),
    "day": lambda d: d.date().isoformat(),
}
