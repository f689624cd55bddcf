"""The embedded Python API: :class:`NewsSearch`, the facade the CLI and other programs use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from whoosh.index import Index
from whoosh.searching import Searcher

from .archive import PASSES
from .config import Config, load_config
from .enrich.entities import Entity, distinct, extract_entities
from .enrich.sections import SECTIONS, Topic, classify, display_name, label_for
from .errors import IndexDamagedError, NewsSearchError, QueryError
from .index import writer as indexing
from .index.schema import ENTITY_FIELDS, from_stored
from .models import Article, IndexReport, SearchResult
from .query import facets as facets_module
from .query import search
from .query.facets import FACETS, INTERVALS
from .query.search import EXPORT_FIELDS, MARK
from .text.analysis import analyze

__all__ = [
    "ENTITY_FIELDS",
    "EXPORT_FIELDS",
    "FACETS",
    "INTERVALS",
    "MARK",
    "SECTIONS",
    "Entity",
    "IndexDamagedError",
    "NewsSearch",
    "Topic",
    "analyze",
    "classify",
    "display_name",
    "distinct",
    "extract_entities",
    "label_for",
]


class NewsSearch:
    """A newssearch index in a folder: index articles into it, search it, fetch articles.

    >>> with NewsSearch("index") as ns:          # doctest: +SKIP
    ...     ns.index(["corpus"])
    ...     for hit in ns.search("Putins Bündnis mit China").hits:
    ...         print(hit.rank, hit.title)
    """

    def __init__(self, index_dir: str | Path | None = None, config: Config | None = None) -> None:
        self.config = config or Config()
        self.index_dir = Path(index_dir) if index_dir is not None else Path(self.config.index)
        self._ix: Index | None = None
        self._indexname: str | None = None
        self._searcher: Searcher | None = None
        self._snippeter: search.Snippeter | None = None

    @classmethod
    def from_config(
        cls, path: str | Path | None = "config.yaml", index_dir: str | Path | None = None
    ) -> NewsSearch:
        """Open the index a config file names (``index_dir`` overrides its ``index`` key)."""
        config = load_config(path)
        return cls(index_dir if index_dir is not None else config.index, config)

    def __enter__(self) -> NewsSearch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NewsSearch({str(self.index_dir)!r})"

    def close(self) -> None:
        """Release open index files."""
        if self._searcher is not None:
            self._searcher.close()
        if self._ix is not None:
            self._ix.close()
        self._ix = self._searcher = self._indexname = self._snippeter = None

    def index(
        self,
        paths: Iterable[str | Path] | None = None,
        rebuild: bool = False,
        progress: indexing.ProgressCallback | None = None,
        strict: bool = False,
        prune: bool = False,
    ) -> IndexReport:
        """Index files and folders (default: the config's corpus paths).

        New records are added, changed ones updated, unchanged ones skipped; bad records are
        listed in the report's ``rejected`` with file, line and reason. ``rebuild`` starts a
        fresh index and switches to it only when it is complete. ``strict`` stops at the first
        bad record (:class:`CorpusError`). ``progress`` is called with :class:`Progress`.
        ``prune`` deletes the indexed articles whose records were not read in this run (records
        removed from the corpus): give it the whole corpus. Their ids are in the report's ``pruned``.
        """
        self.close()
        paths = list(paths) if paths else list(self.config.corpus)
        return indexing.build_index(
            self.index_dir,
            self.config,
            paths,
            rebuild=rebuild,
            strict=strict,
            progress=progress,
            prune=prune,
            passes=PASSES,
        )

    def optimize(self) -> indexing.OptimizeReport:
        """Merge the index's segments into one: faster queries after many incremental runs."""
        self.close()
        return indexing.optimize_index(self.index_dir, self.config)

    def retag(self) -> IndexReport:
        """Re-apply the config's user topics to the whole index without reading the corpus.

        ``index`` does this too at the end of every run; call this after editing ``topics:``.
        The report's ``topics`` counts articles per topic, ``retagged`` the articles changed.
        """
        self.close()
        return indexing.run_passes(self.index_dir, self.config, PASSES)

    def search(
        self,
        query: str,
        limit: int | None = None,
        page: int = 1,
        sort: str = "relevance",
        fields: Sequence[str] | None = None,
        facets: Sequence[str] = (),
        filters: dict[str, Sequence[str]] | None = None,
        date_from: dt.date | str | None = None,
        date_to: dt.date | str | None = None,
        interval: str = "month",
    ) -> SearchResult:
        """Ranked search in the Whoosh query language (plain words rank without operators).

        ``sort="date"`` lists newest first; ``fields`` restricts the searched fields.
        ``facets=("person", "org", "place", "topic", "source", "date")`` counts values over
        all matches (dates per ``interval``: year, month, week or day);
        ``filters={"person": ["Wladimir Putin"]}`` (likewise ``org``, ``place``, ``topic``: all
        of the values), ``{"source": [...]}`` (any of the sources) and ``date_from``/``date_to``
        (inclusive) restrict the matches.
        Raises :class:`QueryError` for a malformed query or an unknown facet.
        """
        with self._reading(query):
            searcher = self._current_searcher()
            parser = search.build_parser(searcher.schema, self.config.search, fields)
            return search.run_search(
                searcher,
                parser,
                query,
                self.config.search,
                limit=limit,
                page=page,
                sort=sort,
                snippeter=self._snippeter,
                filters=facets_module.Filters.build(filters, date_from, date_to),
                facet_names=tuple(facets),
                interval=interval,
            )

    def export(
        self,
        query: str,
        sort: str = "relevance",
        fields: Sequence[str] | None = None,
        filters: dict[str, Sequence[str]] | None = None,
        date_from: dt.date | str | None = None,
        date_to: dt.date | str | None = None,
    ) -> Iterator[dict]:
        """Every match of ``query`` (not one page), as dicts with ``search.EXPORT_FIELDS``."""
        with self._reading(query):
            searcher = self._current_searcher()
            parser = search.build_parser(searcher.schema, self.config.search, fields)
            rows = search.export_rows(
                searcher,
                parser,
                query,
                self.config.search,
                sort=sort,
                filters=facets_module.Filters.build(filters, date_from, date_to),
            )
        return self._guarded(rows, query)

    def _guarded(self, rows: Iterator[dict], query: str) -> Iterator[dict]:
        """``rows``, with a damaged index's errors turned into IndexDamagedError as they come."""
        while True:
            with self._reading(query):
                try:
                    row = next(rows)
                except StopIteration:
                    return
            yield row

    def similar(self, id: str, limit: int = 10) -> SearchResult:
        """Articles related to article ``id`` (not itself, not near-identical copies of it).

        Raises :class:`ArticleNotFoundError` for an unknown id.
        """
        with self._reading():
            return search.more_like(self._current_searcher(), id, self.config.search, limit=limit)

    def check(self, deep: bool = False) -> indexing.CheckReport:
        """Verify the index: checksums of its files, every segment opens, ids are unique, counts
        match the last run; ``deep`` also decodes every term, posting, stored field and column."""
        self.close()
        return indexing.check_index(self.index_dir, self.config.analysis, deep=deep)

    def get(self, id: str) -> Article | None:
        """The stored article with this id, or None."""
        with self._reading():
            fields = self._current_searcher().document(id=id)
            return from_stored(fields) if fields else None

    def entities(self, facets: Sequence[str] = ("person", "org", "place"), top: int = 20) -> dict:
        """The most frequent people, organisations and places of the whole index, by article count."""
        with self._reading():
            searcher = self._current_searcher()
            return facets_module.count(
                searcher, searcher.reader().all_doc_ids(), tuple(facets), top=top
            )

    def count(self) -> int:
        """Number of articles in the index."""
        with self._reading():
            return self._current_searcher().doc_count()

    @contextmanager
    def _reading(self, query: str | None = None) -> Iterator[None]:
        """Turn a failure while reading the index into a clear error, never a traceback.

        A damaged file shows up as any of Whoosh's, zlib's, struct's, pickle's or Unicode
        errors; the index's checksums then name the damaged files. With no damage found, a
        failure while running a query is a QueryError.
        """
        try:
            yield
        except NewsSearchError:
            raise
        except Exception as exc:
            self.close()  # a damaged reader is not reused
            problems = indexing.damage_found(self.index_dir)
            if problems or query is None:
                raise indexing.damaged(self.index_dir, exc, problems) from None
            raise QueryError(
                f"the query {query!r} could not be run ({type(exc).__name__}: {str(exc)[:200]}); "
                "`newssearch check --deep` tells whether the index is damaged"
            ) from None

    def _current_searcher(self) -> Searcher:
        meta = indexing.live_meta(self.index_dir)
        if (
            self._searcher is not None
            and meta is not None
            and meta.get("indexname") == self._indexname
        ):
            if self._searcher.up_to_date():
                return self._searcher
            # A fresh reader, not Searcher.refresh(): Whoosh 2.7's reader reuse closes the reused
            # segment readers twice when a concurrent merge makes it retry (ReaderClosed).
            self._searcher.close()
        else:  # first use, or a rebuild switched the live index
            self.close()
            self._ix = indexing.open_index(self.index_dir, self.config.analysis)
            self._indexname = self._ix.indexname
            self._snippeter = search.Snippeter(self._ix.schema["body"].analyzer)
        self._searcher = self._ix.searcher(weighting=search.scoring(self.config.search))
        return self._searcher
