"""Facets and filters: counts over ALL matches, read from per-document columns, not stored fields.

Facet values live in Whoosh columns written in the same commit as their documents
(``source_facet``, ``date``), so counts can never disagree with the index.
"""

from __future__ import annotations

import datetime as dt
import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from .enrich.entities import key
from .errors import QueryError
from .schema import FIELD_LABELS, entity_term, split_entities, split_topics

ENTITY_FACETS = ("person", "org", "place")
FACETS = ("topic", *ENTITY_FACETS, "source", "date")
FILTERS = ("topic", *ENTITY_FACETS, "source")
INTERVALS = ("year", "month", "week", "day")


@dataclass(frozen=True)
class Filters:
    """Restrictions on matches: all of the topics and entities, any of the sources, dates within [date_from, date_to]."""

    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: (facet, name) pairs such as ("person", "Wladimir Putin"): an article must name all of them
    entities: tuple[tuple[str, str], ...] = ()

    @classmethod
    def build(
        cls,
        filters: dict[str, Sequence[str]] | None = None,
        date_from: dt.date | str | None = None,
        date_to: dt.date | str | None = None,
    ) -> Filters:
        """Check and normalise the API's ``filters`` mapping and date bounds."""
        filters = dict(filters or {})
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise QueryError(
                f"cannot filter by {unknown[0]!r}: filterable facets are: {', '.join(FILTERS)} (and date_from/date_to)"
            )
        values = {name: _strings(filters.get(name, ()), name) for name in FILTERS}
        entities = tuple((name, value) for name in ENTITY_FACETS for value in values[name])
        return cls(
            values["source"], values["topic"], _as_date(date_from, "date_from"), _as_date(date_to, "date_to"), entities
        )

    def query(self) -> wq.Query | None:
        """The filter as a Whoosh query (None when nothing is filtered)."""
        parts: list[wq.Query] = []
        if self.sources:  # one source per article: several sources mean "any of them"
            parts.append(wq.Or([wq.Term("source_facet", s) for s in self.sources]))
        # an article has several topics: several topics mean "all of them" (drilling down)
        parts.extend(wq.Term("topic", t.strip().lower()) for t in self.topics)
        # the facet value's spelling does not matter: case, quotes and hyphens are normalised away
        parts.extend(wq.Term("entity", entity_term(FIELD_LABELS[facet], key(name))) for facet, name in self.entities)
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
    searcher: Searcher, docnums: Iterable[int], names: Sequence[str], interval: str = "month", top: int = 10
) -> dict[str, tuple[tuple[str, int], ...]]:
    """Facet values with counts over ``docnums``: topics and sources by count, dates in time order."""
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise QueryError(f"unknown facet {unknown[0]!r}: choose from {', '.join(FACETS)}")
    if interval not in INTERVALS:
        raise QueryError(f"unknown date interval {interval!r}: choose from {', '.join(INTERVALS)}")
    docnums = list(docnums)
    reader = searcher.reader()
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    if "topic" in names:
        column = column_lookup(reader, "topic_facet")
        counts = Counter()
        for d in docnums:
            section, user = split_topics(column(d) or b"")
            counts.update({section, *user} - {""})
        out["topic"] = _by_count(counts, top)
    wanted = [n for n in ENTITY_FACETS if n in names]
    if wanted:
        out.update(_entity_counts(reader, docnums, wanted, top))
    if "source" in names:
        column = column_lookup(reader, "source_facet")
        counts = Counter(column(d) for d in docnums)
        counts.pop("", None)
        counts.pop(None, None)
        out["source"] = _by_count(counts, top)
    if "date" in names:
        # Raw column values: articles without a date hold the column's "missing" marker, which
        # Whoosh cannot turn into a datetime.
        column = column_lookup(reader, "date", translate=False)
        to_datetime = searcher.schema["date"].from_column_value
        bucket = _BUCKETS[interval]
        counts = Counter(
            bucket(to_datetime(v)) for v in (column(d) for d in docnums) if v is not None and v < _NO_DATE
        )
        out["date"] = _with_gaps(sorted(counts.items()), interval)
    return out


def _entity_counts(
    reader: IndexReader, docnums: list[int], names: Sequence[str], top: int
) -> dict[str, tuple[tuple[str, int], ...]]:
    """Articles per entity, shown in its commonest spelling.

    An article holds each name once (one spelling, one kind: see ``entities.distinct``), so
    counting spellings and merging those with the same key afterwards counts articles.
    """
    column = column_lookup(reader, "entity_facet")
    labels = {FIELD_LABELS[n]: n for n in names}
    spellings: Counter = Counter()
    for d in docnums:
        raw = column(d)
        if raw:
            spellings.update(split_entities(raw))
    by_key: dict[str, dict[tuple[str, str], int]] = {}
    for (label, name), n in spellings.items():
        facet = labels.get(label)
        if facet is not None:
            by_key.setdefault(facet, {}).setdefault(key(name), {})[name] = n
    out = {}
    for facet in names:
        # each name shown in its commonest spelling (ties: name order, as for the counts)
        shown = Counter({_by_count(variants, 1)[0][0]: sum(variants.values()) for variants in by_key.get(facet, {}).values()})
        out[facet] = _by_count(shown, top)
    return out


def _by_count(counts: Mapping[str, int], top: int) -> tuple[tuple[str, int], ...]:
    """The ``top`` values, most frequent first, ties in name order."""
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top])


def column_lookup(reader: IndexReader, name: str, translate: bool = True) -> Callable[[int], Any]:
    """A docnum -> column value lookup (None where a segment has no such column).

    Not ``reader.column_reader``: Whoosh 2.7's MultiColumnReader skips segments without the
    column but keeps bisecting over the remaining offsets, so documents of a segment where no
    article had, say, a source are read from the wrong segment (or raise IndexError).
    """
    leaves = reader.leaf_readers()
    offsets = [offset for _, offset in leaves]
    columns = [_leaf_column(leaf, name, translate) for leaf, _ in leaves]

    def value(docnum: int) -> Any:
        i = bisect_right(offsets, docnum) - 1
        column = columns[i]
        return None if column is None else column[docnum - offsets[i]]

    return value


# Opening a variable-length column reads its whole offset table; a searcher's segments do not
# change, so their column readers are kept as long as the segment reader lives.
_COLUMNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _leaf_column(leaf: IndexReader, name: str, translate: bool) -> Any:
    if not leaf.has_column(name):
        return None
    cache = _COLUMNS.setdefault(leaf, {})
    if (name, translate) not in cache:
        cache[(name, translate)] = leaf.column_reader(name, translate=translate)
    return cache[(name, translate)]


def _with_gaps(buckets: list[tuple[str, int]], interval: str) -> tuple[tuple[str, int], ...]:
    """Years and months without matches are listed with 0, so the histogram shows the gaps."""
    if interval not in ("year", "month") or len(buckets) < 2:
        return tuple(buckets)
    counts = dict(buckets)
    first, last = buckets[0][0], buckets[-1][0]
    if interval == "year":
        keys = [f"{y:04d}" for y in range(int(first), int(last) + 1)]
    else:
        start, end = int(first[:4]) * 12 + int(first[5:]) - 1, int(last[:4]) * 12 + int(last[5:]) - 1
        keys = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(start, end + 1)]
    return tuple((key, counts.get(key, 0)) for key in keys)


_NO_DATE = 2**64 - 1  # Whoosh's default for a missing value in an unsigned 64-bit column

_BUCKETS = {
    "year": lambda d: f"{d.year:04d}",
    "month": lambda d: f"{d.year:04d}-{d.month:02d}",
    "week": lambda d: "{:04d}-W{:02d}".format(*d.isocalendar()[:2]),
    "day": lambda d: d.date().isoformat(),
}
