"""The values that flow between stages: articles in, hits and reports out."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Article:
    """One news article, as readers produce it and the index stores it."""

    id: str
    text: str
    title: str | None = None
    date: dt.datetime | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    section: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lead(self) -> str:
        """The first sentence of the text (a news lead stands in for a missing title)."""
        return first_sentence(self.text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of all fields (dates as ISO 8601 strings)."""
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "date": iso(self.date),
            "source": self.source,
            "url": self.url,
            "author": self.author,
            "section": self.section,
        }
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class Rejection:
    """A record that could not be indexed, where it came from and why."""

    path: str
    line: int
    reason: str
    #: The record as read (a JSON line, a CSV row), for the rejects file; None for whole files.
    raw: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: path, line, reason, record."""
        return {"path": self.path, "line": self.line, "reason": self.reason, "record": self.raw}


@dataclass(frozen=True)
class Hit:
    """One search result."""

    rank: int
    id: str
    title: str
    score: float | None
    snippet: str
    date: dt.datetime | None = None
    source: str | None = None
    url: str | None = None
    #: The predicted section first (when there is one), then the user topics that match.
    topics: tuple[str, ...] = ()
    #: The people, organisations and places the article names: {"person": (...), "org": ...,
    #: "place": ...}.
    entities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The story (wire copies folded) and, in collapsed results, its other matching copies:
    #: (id, source) pairs, best first.
    story: str | None = None
    copies: tuple[tuple[str, str | None], ...] = ()
    #: How many copies were folded into this hit (``copies`` lists the first of them).
    copy_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "rank": self.rank,
            "id": self.id,
            "title": self.title,
            "date": iso(self.date),
            "source": self.source,
            "url": self.url,
            "score": None if self.score is None else round(self.score, 4),
            "snippet": self.snippet,
            "topics": list(self.topics),
            "entities": {facet: list(names) for facet, names in self.entities.items()},
            "story": self.story,
            "copies": [{"id": i, "source": s} for i, s in self.copies],
            "copy_count": self.copy_count,
        }


@dataclass(frozen=True)
class SearchResult:
    """One page of hits for a query, with the total number of matching articles."""

    query: str
    total: int
    page: int
    limit: int
    hits: tuple[Hit, ...]
    #: A corrected query when words of this one are absent from the index, else None.
    suggestion: str | None = None
    #: Facet counts over all matches: {"topic": ((value, count), ...), "source": ..., "date":
    #: ((bucket, count), ...)}.
    facets: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    #: How a query with slips (a stray quote, a dangling AND) was read, else None.
    notice: str | None = None
    #: The index terms searched in title and text, in query order (how the query was read).
    terms: tuple[str, ...] = ()

    @property
    def pages(self) -> int:
        """How many pages of ``limit`` hits the matches fill."""
        return max(1, -(-self.total // self.limit))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``query``, ``total``, ``page``, ``limit``, ``hits``."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "limit": self.limit,
            "hits": [hit.to_dict() for hit in self.hits],
            "suggestion": self.suggestion,
            "notice": self.notice,
            "facets": {
                name: [list(pair) for pair in values] for name, values in self.facets.items()
            },
        }


@dataclass(frozen=True)
class Progress:
    """How far an indexing run has got; handed to the progress callback."""

    bytes_done: int
    bytes_total: int
    records: int
    #: seconds since the run started reading
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Records read per second so far."""
        return self.records / self.seconds if self.seconds > 0 else 0.0


@dataclass
class IndexReport:
    """What an indexing run did with every record it read."""

    index_dir: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    files: int = 0
    skipped_files: list[str] = field(default_factory=list)
    documents: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    #: Things the user should know that are not errors (a stale lock was cleared, ...).
    notes: list[str] = field(default_factory=list)
    #: Articles per user topic after the run, and how many articles had their topics changed.
    topics: dict[str, int] = field(default_factory=dict)
    retagged: int = 0
    #: Ids of indexed articles deleted by ``prune`` because no record of theirs was read.
    pruned: list[str] = field(default_factory=list)
    #: Worker processes that enriched articles (0: enriched in the indexing process, a small run).
    workers: int = 0
    #: The archive-wide entity names pass's summary line (newssearch.archive.resolve).
    entity_names: str = ""

    @property
    def read(self) -> int:
        """Records read; always added + updated + unchanged + rejected."""
        return self.added + self.updated + self.unchanged + len(self.rejected)

    def summary(self) -> str:
        """One line accounting for every record."""
        per_second = self.read / self.seconds if self.seconds > 0 else 0.0
        rate = (
            f", {per_second:,.0f} records/s"
            if per_second >= 10
            else f", {per_second:.1f} records/s"
            if per_second
            else ""
        )
        return (
            f"read {plural(self.read, 'record')} from {plural(self.files, 'file')}: "
            f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{len(self.rejected):,} rejected"
            + (f", {len(self.pruned):,} pruned" if self.pruned else "")
            + f" ({self.seconds:.1f}s{rate}"
            + (f", enriched by {self.workers} worker processes" if self.workers else "")
            + "); "
            f"index {self.index_dir} holds {plural(self.documents, 'article')}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "index": self.index_dir,
            "read": self.read,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [r.to_dict() for r in self.rejected],
            "files": self.files,
            "skipped_files": list(self.skipped_files),
            "documents": self.documents,
            "seconds": round(self.seconds, 3),
            "rebuilt": self.rebuilt,
            "workers": self.workers,
            "notes": list(self.notes),
            "topics": dict(self.topics),
            "retagged": self.retagged,
            "pruned": list(self.pruned),
            "entity_names": self.entity_names,
        }

    def write_rejects(self, path: str | Path, force: bool = False) -> int:
        """Write every rejected record with its reason as JSON Lines; returns how many.

        An existing file is overwritten only with ``force`` (else FileExistsError)."""
        # a lone surrogate in a record is kept as its escape (valid JSON), not a crash
        with open(path, "w" if force else "x", encoding="utf-8", errors="backslashreplace") as fh:
            fh.writelines(
                json.dumps(rejection.to_dict(), ensure_ascii=False) + "\n"
                for rejection in self.rejected
            )
        return len(self.rejected)


def plural(n: int, word: str) -> str:
    """'1 record', '2 records' (with thousands separators)."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 text for a datetime; midnight datetimes print as plain dates."""
    if value is None:
        return None
    if value.time() == dt.time(0, 0) and value.tzinfo is None:
        return value.date().isoformat()
    return value.isoformat()


def first_sentence(text: str, limit: int = 200) -> str:
    """The first sentence of ``text``, cut at ``limit`` characters."""
    text = " ".join(text.split())
    ends = [pos for pos in (text.find(e, 20) for e in (". ", "? ", "! ")) if 0 < pos < limit]
    if ends:
        return text[: min(ends) + 1]
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


@dataclass(frozen=True)
class Mention:
    """Where an article's text names one of its indexed entities: ``text[start:end]``."""

    start: int
    end: int
    #: "person", "org" or "place"
    facet: str
    #: the name as indexed (the facet value to filter by)
    name: str


@dataclass(frozen=True)
class ArticleDetails:
    """An article with what the index knows about it: topics, entities and where they are named."""

    article: Article
    #: the predicted section first (when there is one), then the user topics that match
    topics: tuple[str, ...] = ()
    entities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mentions: tuple[Mention, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The article's fields plus ``topics``, ``entities`` and ``mentions``."""
        return self.article.to_dict() | {
            "topics": list(self.topics),
            "entities": {facet: list(names) for facet, names in self.entities.items()},
            "mentions": [
                {"start": m.start, "end": m.end, "facet": m.facet, "name": m.name}
                for m in self.mentions
            ],
        }


@dataclass(frozen=True)
class EntityProfile:
    """One person, organisation or place over the index: articles over time, names seen with it."""

    facet: str
    name: str
    articles: int
    #: (date bucket, articles) in time order
    timeline: tuple[tuple[str, int], ...] = ()
    #: {"person": ((name, articles together), ...), "org": ..., "place": ...}, the entity left out
    cooccurring: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "facet": self.facet,
            "name": self.name,
            "articles": self.articles,
            "timeline": [list(pair) for pair in self.timeline],
            "cooccurring": {
                facet: [list(pair) for pair in values] for facet, values in self.cooccurring.items()
            },
        }
