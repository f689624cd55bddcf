"""The embedded Python API: :class:`NewsSearch`, the facade the CLI and other programs use."""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import datetime as dt
import difflib
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from whoosh.index import EmptyIndexError, Index
from whoosh.reading import ReaderClosed
from whoosh.searching import Searcher

from .archive import PASSES, opensearch, resolve
from .config import Config, load_config
from .enrich.entities import Entity, distinct, extract_entities
from .enrich.sections import (
    SECTIONS,
    SHORT_TEXT_CHARS,
    Topic,
    classify,
    display_name,
    indexed_section,
    label_for,
)
from .errors import (
    CorpusError,
    IndexDamagedError,
    IndexIncompatibleError,
    NewsSearchError,
    QueryError,
)
from .index import writer as indexing
from .index.schema import ENTITY_FIELDS, entities_by_facet, from_stored, stored_topics
from .ingest.readers import SUFFIXES
from .models import (
    Article,
    ArticleDetails,
    EntityProfile,
    IndexReport,
    Mention,
    SearchResult,
)
from .query import collapse, search
from .query import facets as facets_module
from .query.facets import FACETS, INTERVALS
from .query.search import EXPORT_FIELDS, MARK
from .text.analysis import analyze
from .text.names import name_key as key

__all__ = [
    "ENTITY_FIELDS",
    "EXPORT_FIELDS",
    "FACETS",
    "INTERVALS",
    "MARK",
    "SECTIONS",
    "SHORT_TEXT_CHARS",
    "SUFFIXES",
    "Entity",
    "IndexDamagedError",
    "NewsSearch",
    "Topic",
    "analyze",
    "classify",
    "display_name",
    "distinct",
    "extract_entities",
    "indexed_section",
    "label_for",
]

#: Tries to open the live index when a concurrent rebuild or merge removes files under us.
_OPEN_ATTEMPTS = 4


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
        self._entity_map: facets_module.EntityMap | None = None
        self._entity_map_stat: tuple[int, int] | None = None

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
        searcher, ix = self._searcher, self._ix
        self._ix = self._searcher = self._indexname = self._snippeter = None
        if searcher is not None:
            with contextlib.suppress(ReaderClosed):
                searcher.close()
        if ix is not None:
            ix.close()

    def index(
        self,
        paths: Iterable[str | Path] | None = None,
        rebuild: bool = False,
        progress: indexing.ProgressCallback | None = None,
        strict: bool = False,
        prune: bool = False,
        delimiter: str | None = None,
        encoding: str | None = None,
    ) -> IndexReport:
        """Index files and folders (default: the config's corpus paths).

        New records are added, changed ones updated, unchanged ones skipped; bad records are
        listed in the report's ``rejected`` with file, line and reason. ``rebuild`` starts a
        fresh index and switches to it only when it is complete. ``strict`` stops at the first
        bad record (:class:`CorpusError`). ``progress`` is called with :class:`Progress`.
        ``prune`` deletes the indexed articles whose records were not read in this run (records
        removed from the corpus): give it the whole corpus. Their ids are in the report's
        ``pruned``.
        ``delimiter`` and ``encoding`` set how CSV files are read (default: sniffed per file).
        """
        if delimiter is not None:
            delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        _check_csv_options(delimiter, encoding)
        self.close()
        paths = list(paths) if paths else list(self.config.corpus)
        report = indexing.build_index(
            self.index_dir,
            self.config,
            paths,
            rebuild=rebuild,
            strict=strict,
            progress=progress,
            prune=prune,
            passes=PASSES,
            delimiter=delimiter,
            encoding=encoding,
        )
        try:
            report.entity_names = self.resolve_entities().summary()
        except NewsSearchError as exc:  # the articles are in; only the names' table is stale
            report.notes.append(
                f"entity names were not recomputed ({exc}); run `newssearch retag` to do it"
            )
        return report

    def resolve_entities(self) -> resolve.ResolveReport:
        """Recompute one canonical name per entity across the index (reads no corpus).

        Surnames join full names (Merkel -> Angela Merkel), inflected names their base form,
        abbreviations their expansion; the config's ``entities:`` aliases, kinds and hidden
        names apply. ``index`` and ``retag`` run this at their end.
        """
        self.close()
        return resolve.resolve_index(self.index_dir, self.config)

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
        report = indexing.run_passes(self.index_dir, self.config, PASSES)
        report.entity_names = self.resolve_entities().summary()
        return report

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
        collapse: bool = False,
        strict: bool = False,
    ) -> SearchResult:
        """Ranked search in the Whoosh query language (plain words rank without operators).

        ``sort="date"`` lists newest first; ``fields`` restricts the searched fields.
        ``facets=("person", "org", "place", "topic", "source", "date")`` counts values over
        all matches (dates per ``interval``: auto, year, month, week or day);
        ``filters={"person": ["Wladimir Putin"]}`` (likewise ``org``, ``place``, ``topic``: all
        of the values), ``{"source": [...]}`` (any of the sources) and ``date_from``/``date_to``
        (inclusive) restrict the matches. ``collapse=True`` folds wire copies: one hit per story
        (the hit's ``copies`` lists the others), and ``total`` and the facets count stories.
        Slips in the query (a trailing "?", an unpaired quote or bracket, a dangling AND) are
        read leniently and the result's ``notice`` says how; ``strict=True`` raises
        :class:`QueryError` for them instead. Raises it for an unknown facet or field either way.
        """
        with self._reading(query):
            searcher = self._current_searcher()
            parser = search.build_parser(searcher.schema, self.config.search, fields)
            entity_map = self._entity_map
            result = search.run_search(
                searcher,
                parser,
                query,
                self.config.search,
                limit=limit,
                page=page,
                sort=sort,
                snippeter=self._snippeter,
                filters=facets_module.Filters.build(filters, date_from, date_to, entity_map),
                facet_names=tuple(facets),
                interval=interval,
                entity_map=entity_map,
                collapse=collapse,
                strict=strict,
            )
        return self._canonical_hits(result)

    def _canonical_hits(self, result: SearchResult) -> SearchResult:
        """``result`` with its hits' entities under the archive's canonical names."""
        entity_map = self._entity_map
        if entity_map is None:
            return result
        hits = tuple(
            dataclasses.replace(hit, entities=resolve.canonical_entities(hit.entities, entity_map))
            for hit in result.hits
        )
        return dataclasses.replace(result, hits=hits)

    def export(
        self,
        query: str,
        sort: str = "relevance",
        fields: Sequence[str] | None = None,
        filters: dict[str, Sequence[str]] | None = None,
        date_from: dt.date | str | None = None,
        date_to: dt.date | str | None = None,
        strict: bool = False,
    ) -> Iterator[dict]:
        """Every match of ``query`` (not one page), as dicts with ``search.EXPORT_FIELDS``."""
        with self._reading(query):
            searcher = self._current_searcher()
            parser = search.build_parser(searcher.schema, self.config.search, fields)
            entity_map = self._entity_map
            rows = search.export_rows(
                searcher,
                parser,
                query,
                self.config.search,
                sort=sort,
                filters=facets_module.Filters.build(filters, date_from, date_to, entity_map),
                strict=strict,
            )
        if entity_map is not None:
            rows = (_canonical_row(row, entity_map) for row in rows)
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
            result = search.more_like(self._current_searcher(), id, self.config.search, limit=limit)
        return self._canonical_hits(result)

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
        """The people, organisations and places named in the most articles of the index."""
        with self._reading():
            searcher = self._current_searcher()
            return facets_module.count(
                searcher,
                None,  # every article
                tuple(facets),
                top=top,
                entity_map=self._entity_map,
            )

    def duplicates(self, top: int = 20) -> list[list[Article]]:
        """The ``top`` largest stories (wire copies grouped at index time), as their articles."""
        searcher = self._current_searcher()
        return [
            [from_stored(searcher.stored_fields(d)) for d in group]
            for group in collapse.largest_stories(searcher, top)
        ]

    def export_opensearch(
        self,
        directory: str | Path,
        index_name: str = "newssearch",
        chunk_articles: int = opensearch.CHUNK_ARTICLES,
    ) -> opensearch.ExportReport:
        """Write an OpenSearch/Elasticsearch index definition and bulk NDJSON of every article."""
        searcher = self._current_searcher()
        return opensearch.export(
            searcher,
            self.config.analysis,
            Path(directory),
            index_name=index_name,
            chunk_articles=chunk_articles,
            entity_map=self._entity_map,
        )

    def details(self, id: str) -> ArticleDetails | None:
        """The stored article with its topics, entities and where its text names them, or None."""
        fields = self._current_searcher().document(id=id)
        if not fields:
            return None
        article = from_stored(fields)
        entities = entities_by_facet(fields)
        return ArticleDetails(
            article, stored_topics(fields), entities, _mentions(article.text, entities)
        )

    def entity(self, facet: str, name: str, interval: str = "auto", top: int = 10) -> EntityProfile:
        """How often a person/org/place is named over time and which names appear with it.

        ``facet`` is "person", "org" or "place"; ``name`` any spelling of an indexed name
        (case, hyphens and quotes do not count). Raises :class:`QueryError` for another facet.
        """
        if facet not in ENTITY_FIELDS.values():
            raise QueryError(
                f"unknown entity kind {facet!r}: choose from {', '.join(ENTITY_FIELDS.values())}"
            )
        result = self.search(
            "*",
            limit=1,
            facets=(*ENTITY_FIELDS.values(), "date"),
            filters={facet: [name]},
            interval=interval,
        )
        own = key(name)
        shown = next((n for n, _ in result.facets.get(facet, ()) if key(n) == own), name)
        together = {
            f: tuple((n, c) for n, c in result.facets.get(f, ()) if key(n) != own)[:top]
            for f in ENTITY_FIELDS.values()
        }
        return EntityProfile(facet, shown, result.total, result.facets.get("date", ()), together)

    def query_terms(self, query: str, fields: Sequence[str] | None = None) -> tuple[str, ...]:
        """The index terms ``query`` searches the text for: how it was read (stems, compound parts).

        Raises :class:`QueryError` for a malformed query, as :meth:`search` does.
        """
        searcher = self._current_searcher()
        parser = search.build_parser(searcher.schema, self.config.search, fields)
        parsed = search.parse(parser, query)
        terms = (text for field, text in parsed.iter_all_terms() if field in ("title", "body"))
        return tuple(dict.fromkeys(t.decode("utf-8") if isinstance(t, bytes) else t for t in terms))

    def has_value(self, facet: str, value: str) -> bool:
        """Whether some article has this value of a filterable facet (any spelling of a name)."""
        wanted = key(value)
        return any(key(v) == wanted for v in self._known_values(facet))

    def closest_values(self, facet: str, value: str, n: int = 3) -> list[str]:
        """The facet's values spelled most like ``value`` (each word of a name counts alone too)."""
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(key(value))  # difflib caches its analysis of the second sequence
        scored = []
        for candidate in self._known_values(facet):
            words = key(candidate)
            best = 0.0
            for part in (words, *words.split()):
                matcher.set_seq1(part)
                # the cheap upper bounds first: most names are nowhere near
                if matcher.real_quick_ratio() >= 0.75 and matcher.quick_ratio() >= 0.75:
                    best = max(best, matcher.ratio())
            if best >= 0.75:
                scored.append((-best, candidate))
        return [candidate for _, candidate in sorted(scored)[:n]]

    def _known_values(self, facet: str) -> list[str]:
        return facets_module.known_values(self._current_searcher(), facet)

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
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                return self._open_searcher()
            except (EmptyIndexError, IndexIncompatibleError, OSError):
                # A rebuild or merge that committed after we read the meta/TOC removed the files
                # they name: read them again (a really broken index fails every attempt).
                self.close()
                if attempt == _OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _open_searcher(self) -> Searcher:
        meta = indexing.live_meta(self.index_dir)
        if (
            self._searcher is not None
            and meta is not None
            and meta.get("indexname") == self._indexname
        ):
            if self._searcher.up_to_date():
                self._load_entity_map()
                return self._searcher
            # A fresh reader, not Searcher.refresh(): Whoosh 2.7's reader reuse closes the reused
            # segment readers twice when a concurrent merge makes it retry (ReaderClosed).
            searcher, self._searcher = self._searcher, None
            searcher.close()
        else:  # first use, or a rebuild switched the live index
            self.close()
            self._ix = indexing.open_index(self.index_dir, self.config.analysis)
            self._indexname = self._ix.indexname
            self._snippeter = search.Snippeter(self._ix.schema["body"].analyzer)
        assert self._ix is not None
        self._searcher = self._ix.searcher(weighting=search.scoring(self.config.search))
        self._load_entity_map()
        return self._searcher

    def _load_entity_map(self) -> None:
        """(Re)read the index's canonical entity names when the pass has rewritten them."""
        try:
            stat = (self.index_dir / resolve.MAP_FILE).stat()
            seen: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            seen = None
        if seen != self._entity_map_stat or seen is None:
            self._entity_map = resolve.load_entity_map(self.index_dir) if seen else None
            self._entity_map_stat = seen


def _canonical_row(row: dict, entity_map: facets_module.EntityMap) -> dict:
    names = {
        f: tuple(n for n in (row.get(f) or "").split("|") if n) for f in ENTITY_FIELDS.values()
    }
    canonical = resolve.canonical_entities(names, entity_map)
    return {**row, **{f: "|".join(canonical.get(f, ())) for f in ENTITY_FIELDS.values()}}


def _check_csv_options(delimiter: str | None, encoding: str | None) -> None:
    """A CorpusError for a delimiter that is not one character or an unknown encoding."""
    if delimiter is not None and len(delimiter) != 1:
        raise CorpusError(f"the CSV delimiter must be one character, got {delimiter!r}")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CorpusError(
                f"unknown encoding {encoding!r}: use e.g. utf-8, latin-1 or cp1252"
            ) from None


def _mentions(text: str, entities: dict[str, tuple[str, ...]]) -> tuple[Mention, ...]:
    """Where ``text`` names the article's indexed entities, under their indexed names.

    The tagger runs again on the text; a mention counts when its name (or its last word, for a
    surname met without the first name given in the title) matches one of the indexed names.
    """
    if not any(entities.values()):
        return ()
    by_key: dict[str, tuple[str, str]] = {}
    by_last: dict[str, tuple[str, str]] = {}
    for facet, names in entities.items():
        for name in names:
            by_key[key(name)] = (facet, name)
            by_last.setdefault(key(name).split(" ")[-1], (facet, name))
    found = extract_entities(text)  # the tagger locks its own word table: safe from threads
    out = []
    for e in found:
        k = key(e.name)
        match = by_key.get(k) or by_key.get(key(e.text)) or by_last.get(k.split(" ")[-1])
        if match is not None:
            out.append(Mention(e.start, e.end, *match))
    return tuple(out)
