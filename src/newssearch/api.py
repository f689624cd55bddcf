"""The embedded Python API: :class:`NewsSearch`, the facade the CLI and other programs use."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from whoosh.index import Index
from whoosh.searching import Searcher

from . import facets as facets_module
from . import indexing, search
from .archive import resolve
from .config import Config, load_config
from .errors import NewsSearchError
from .models import Article, IndexReport, SearchResult
from .schema import ENTITY_FIELDS, FIELD_LABELS, from_stored


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
        report = indexing.build_index(
            self.index_dir,
            self.config,
            paths,
            rebuild=rebuild,
            strict=strict,
            progress=progress,
            prune=prune,
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
        report = indexing.retag_index(self.index_dir, self.config)
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
        )
        return self._canonical_hits(result)

    def _canonical_hits(self, result: SearchResult) -> SearchResult:
        """``result`` with its hits' entities under the archive's canonical names."""
        entity_map = self._entity_map
        if entity_map is None:
            return result
        hits = tuple(
            dataclasses.replace(hit, entities=canonical_entities(hit.entities, entity_map))
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
    ) -> Iterator[dict]:
        """Every match of ``query`` (not one page), as dicts with ``search.EXPORT_FIELDS``."""
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
        )
        if entity_map is None:
            return rows
        return (_canonical_row(row, entity_map) for row in rows)

    def similar(self, id: str, limit: int = 10) -> SearchResult:
        """Articles related to article ``id`` (not itself, not near-identical copies of it).

        Raises :class:`ArticleNotFoundError` for an unknown id.
        """
        result = search.more_like(self._current_searcher(), id, self.config.search, limit=limit)
        return self._canonical_hits(result)

    def check(self) -> indexing.CheckReport:
        """Verify the index: every segment opens, ids are unique, counts match the last run."""
        self.close()
        return indexing.check_index(self.index_dir, self.config.analysis)

    def get(self, id: str) -> Article | None:
        """The stored article with this id, or None."""
        fields = self._current_searcher().document(id=id)
        return from_stored(fields) if fields else None

    def entities(self, facets: Sequence[str] = ("person", "org", "place"), top: int = 20) -> dict:
        """The most frequent people, organisations and places of the whole index, by article count."""
        searcher = self._current_searcher()
        return facets_module.count(
            searcher,
            searcher.reader().all_doc_ids(),
            tuple(facets),
            top=top,
            entity_map=self._entity_map,
        )

    def count(self) -> int:
        """Number of articles in the index."""
        return self._current_searcher().doc_count()

    def _current_searcher(self) -> Searcher:
        meta = indexing.read_meta(self.index_dir)
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
            self._searcher.close()
        else:  # first use, or a rebuild switched the live index
            self.close()
            self._ix = indexing.open_index(self.index_dir, self.config.analysis)
            self._indexname = self._ix.indexname
            self._snippeter = search.Snippeter(self._ix.schema["body"].analyzer)
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


def canonical_entities(
    entities: Mapping[str, Sequence[str]], entity_map: facets_module.EntityMap
) -> dict[str, tuple[str, ...]]:
    """An article's {"person": names, ...} under the archive's canonical names and kinds."""
    out: dict[str, list[str]] = {facet: [] for facet in entities}
    for facet, names in entities.items():
        for name in names:
            value = entity_map.canonical(FIELD_LABELS[facet], name)
            if value is None:
                value = f"{FIELD_LABELS[facet]}:{name}"
            if not value:
                continue  # never shown
            shown = out.setdefault(ENTITY_FIELDS[value[:3]], [])
            if value[4:] not in shown:
                shown.append(value[4:])
    return {facet: tuple(names) for facet, names in out.items()}


def _canonical_row(row: dict, entity_map: facets_module.EntityMap) -> dict:
    names = {
        f: tuple(n for n in (row.get(f) or "").split("|") if n) for f in ENTITY_FIELDS.values()
    }
    canonical = canonical_entities(names, entity_map)
    return {**row, **{f: "|".join(canonical.get(f, ())) for f in ENTITY_FIELDS.values()}}
