"""Writing the index: create, update incrementally, rebuild, with one writer at a time.

Layout of an index folder::

    newssearch.json     format version, analysis settings, and the name of the live Whoosh index
    newssearch.lock     held (flock) by the one process writing; released by the OS if it dies
    manifest.json       what the last complete run read and how many articles it left
    _ns<N>_<gen>.toc, ns<N>_*.seg ...   Whoosh's files for the live index "ns<N>"

Whoosh commits are atomic (the TOC is written last), so every batch commit is a checkpoint.
A rebuild writes a new Whoosh index "ns<N+1>" next to the live one and switches to it by
replacing ``newssearch.json`` atomically; until then readers see the old index unchanged.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh.index import EmptyIndexError, Index, IndexVersionError
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.writing import LockError, SegmentWriter

from .config import AnalysisConfig, Config, IndexingConfig
from .corpus import ReadOptions, discover, read_file
from .enrich.pool import Enricher
from .enrich.stories import StoryGrouper, kept_fields
from .errors import (
    ConfigError,
    CorpusError,
    IndexIncompatibleError,
    IndexLockedError,
    IndexNotFoundError,
    QueryError,
)
from .facets import column_lookup
from .models import Article, IndexReport, Progress, Rejection, plural
from .schema import (
    FORMAT_VERSION,
    build_schema,
    content_hash,
    from_stored,
    split_topics,
    stored_entities,
    to_document,
)
from .segments import Writer

META_FILE = "newssearch.json"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "newssearch.lock"
_INDEX_FILE = re.compile(r"^_?(ns\d+)_")

ProgressCallback = Callable[[Progress], None]


# -- the meta file ----------------------------------------------------------------------------


def read_meta(index_dir: Path) -> dict[str, Any] | None:
    """The index's meta data, or None when the folder holds no newssearch index."""
    try:
        return json.loads((index_dir / META_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexIncompatibleError(
            f"{index_dir / META_FILE} is unreadable ({exc}); rebuild with `newssearch index --rebuild`"
        ) from None


def _write_meta(index_dir: Path, indexname: str, analysis: AnalysisConfig) -> None:
    meta = {
        "format_version": FORMAT_VERSION,
        "indexname": indexname,
        "analysis": analysis.as_dict(),
    }
    _write_json(index_dir / META_FILE, meta)  # atomic: readers see the old or the new index


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def check_compatible(index_dir: Path, meta: dict[str, Any], analysis: AnalysisConfig) -> None:
    """Raise IndexIncompatibleError unless the index matches this version and these settings."""
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexIncompatibleError(
            f"the index in {index_dir} has format version {version}, this newssearch writes "
            f"version {FORMAT_VERSION}: rebuild it with `newssearch index --rebuild`"
        )
    stored = meta.get("analysis")
    wanted = analysis.as_dict()
    if stored != wanted:
        diff = ", ".join(
            f"{k}: index has {stored.get(k)!r}, config has {v!r}"
            for k, v in wanted.items()
            if not isinstance(stored, dict) or stored.get(k) != v
        )
        raise IndexIncompatibleError(
            f"the index in {index_dir} was built with other analysis settings ({diff}): "
            "rebuild it with `newssearch index --rebuild`, or restore those settings"
        )


def open_index(index_dir: Path, analysis: AnalysisConfig) -> Index:
    """Open the live index for reading, checking version and analysis settings."""
    meta = read_meta(index_dir)
    if meta is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    check_compatible(index_dir, meta, analysis)
    return _open_whoosh(index_dir, meta)


def _open_whoosh(index_dir: Path, meta: dict[str, Any]) -> Index:
    try:
        return whoosh_index.open_dir(str(index_dir), indexname=meta["indexname"])
    except (EmptyIndexError, IndexVersionError, KeyError) as exc:
        raise IndexIncompatibleError(
            f"the index in {index_dir} cannot be opened ({exc}): rebuild it with `newssearch index --rebuild`"
        ) from None
    except (AttributeError, ImportError, ModuleNotFoundError) as exc:  # unpickling the schema
        raise IndexIncompatibleError(
            f"the index in {index_dir} was written by another newssearch version ({exc}): "
            "rebuild it with `newssearch index --rebuild`"
        ) from None


# -- locking ---------------------------------------------------------------------------------


@contextmanager
def write_lock(index_dir: Path, timeout: float, notes: list[str] | None = None) -> Iterator[None]:
    """Hold the index's write lock, waiting up to ``timeout`` seconds for another writer.

    The lock is an flock, which the OS releases when its process dies; the file also names the
    holder's pid and is emptied on a clean exit, so a pid left in it means a writer was killed.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"another process ({_lock_owner(fd) or 'unknown pid'}) is writing to the index in "
                        f"{index_dir}; waited {timeout:g}s: wait for it to finish, or raise "
                        "indexing.lock_timeout in config.yaml"
                    ) from None
                time.sleep(0.1)
        previous = _lock_owner(fd)
        if previous and notes is not None:
            notes.append(
                f"cleared a stale lock left by process {previous}, which stopped without finishing; "
                "the index was as at that run's last commit, and this run carries on from there"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # an orderly end, error or not; only a killed writer leaves its pid
    finally:
        os.close(fd)  # closing releases the flock


def _lock_owner(fd: int) -> str:
    return os.pread(fd, 32, 0).decode("ascii", "replace").strip()


# -- writing ---------------------------------------------------------------------------------


def _next_indexname(index_dir: Path) -> str:
    numbers = [int(m.group(1)[2:]) for p in index_dir.iterdir() if (m := _INDEX_FILE.match(p.name))]
    return f"ns{max(numbers, default=0) + 1}"


def _remove_other_indexes(index_dir: Path, keep: str) -> None:
    """Delete files of Whoosh indexes other than the live one (replaced or abandoned rebuilds)."""
    for p in index_dir.iterdir():
        m = _INDEX_FILE.match(p.name)
        if m and m.group(1) != keep:
            try:
                p.unlink()
            except OSError:
                pass  # a reader may still hold it on some systems; next run retries


_OWN_FILES = frozenset(
    name + suffix for name in (LOCK_FILE, META_FILE, MANIFEST_FILE) for suffix in ("", ".tmp")
)


def _check_folder_is_ours(index_dir: Path) -> None:
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise IndexNotFoundError(
            f"{index_dir} is a file, not an index folder: choose another --index"
        )
    # A folder holding only our own files but no meta file yet is ours: another run is creating
    # the index right now (it writes its first files before the meta file), or one was killed
    # doing so. Either way the write lock sorts it out; only somebody else's files are refused.
    foreign = [
        p.name
        for p in index_dir.iterdir()
        if not p.name.startswith(".") and p.name not in _OWN_FILES and not _INDEX_FILE.match(p.name)
    ]
    if foreign and not (index_dir / META_FILE).exists():
        raise IndexIncompatibleError(
            f"{index_dir} is not empty and holds no newssearch index ({', '.join(sorted(foreign)[:3])} ...): "
            "choose an empty or new folder with --index"
        )


def _existing_hashes(ix: Index) -> dict[str, str]:
    with ix.reader() as reader:
        if reader.doc_count() == 0:
            return {}
        ids = reader.column_reader("id")
        hashes = reader.column_reader("hash")
        return {ids[n]: hashes[n] for n in reader.all_doc_ids()}


class _Throttle:
    """Calls the progress callback at most every ``interval`` seconds (and at the end)."""

    def __init__(
        self, callback: ProgressCallback | None, total: int, interval: float = 0.1
    ) -> None:
        self.callback, self.total, self.interval = callback, total, interval
        self.done = self.records = 0
        self._started = self._last = time.monotonic()

    def add_bytes(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.callback is not None and now - self._last >= self.interval:
            self._last = now
            self.callback(
                Progress(min(self.done, self.total), self.total, self.records, now - self._started)
            )

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(
                Progress(self.total, self.total, self.records, time.monotonic() - self._started)
            )


def build_index(
    index_dir: Path,
    config: Config,
    paths: Iterable[str | Path],
    rebuild: bool = False,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    prune: bool = False,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> IndexReport:
    """Index every record under ``paths`` into ``index_dir``; see :meth:`NewsSearch.index`."""
    options = ReadOptions(fields=config.fields, delimiter=delimiter, encoding=encoding)
    started = time.monotonic()
    index_dir = Path(index_dir)
    files, skipped = discover(paths)
    report = IndexReport(index_dir=str(index_dir), files=len(files), skipped_files=skipped)
    _check_folder_is_ours(index_dir)
    with write_lock(index_dir, config.indexing.lock_timeout, report.notes):
        meta = read_meta(index_dir)
        if meta is not None and not rebuild:
            check_compatible(index_dir, meta, config.analysis)
        if meta is None or rebuild:
            name = _next_indexname(index_dir)
            ix = whoosh_index.create_in(
                str(index_dir), build_schema(config.analysis), indexname=name
            )
            if meta is None:  # nothing to protect: make batches visible as they commit
                _write_meta(index_dir, name, config.analysis)
            existing: dict[str, str] = {}
            report.rebuilt = True
        else:
            name = meta["indexname"]
            ix = _open_whoosh(index_dir, meta)
            existing = _existing_hashes(ix)
        try:
            story_keys = _StoryKeys(index_dir, ix, config)
            seen = _write_records(
                ix, config, files, existing, report, strict, progress, options, story_keys
            )
            if prune:
                _prune(ix, config, existing, seen, report)
            _retag(ix, config, report, new_writer=lambda: _new_writer(ix, config))
            story_keys.save(ix.doc_count())
        finally:
            report.documents = ix.doc_count()
            ix.close()
        if rebuild and meta is not None:
            _write_meta(index_dir, name, config.analysis)  # the switch to the rebuilt index
        _remove_other_indexes(index_dir, keep=name)
        _write_json(
            index_dir / MANIFEST_FILE,
            {
                "indexname": name,
                "documents": report.documents,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "files": [cf.display for cf in files],
            },
        )
    report.seconds = time.monotonic() - started
    return report


def _write_records(
    ix: Index,
    config: Config,
    files: list,
    existing: dict[str, str],
    report: IndexReport,
    strict: bool,
    progress: ProgressCallback | None,
    options: ReadOptions | None = None,
    story_keys: _StoryKeys | None = None,
) -> set[str]:
    """Write new and changed records; returns the ids of every record read (for ``prune``)."""
    settings = config.indexing
    throttle = _Throttle(progress, sum(cf.size for cf in files))
    max_chars = int(settings.max_text_mb * 1_000_000)
    first_seen: dict[str, str] = {}
    rejected_ids: set[str] = set()  # records still in the corpus, though not indexable now

    def changed() -> Iterator[tuple[tuple[Article, str, str | None], str | None, str]]:
        """Read every record; account for the rejected and unchanged ones, yield the rest."""
        for cf in files:
            for line, record in read_file(cf, throttle.add_bytes, options or ReadOptions()):
                throttle.records += 1
                if isinstance(record, Article) and record.id in first_seen:
                    record = Rejection(
                        cf.display,
                        line,
                        f"duplicate id {record.id!r} (first seen at {first_seen[record.id]}); record skipped",
                        json.dumps(record.to_dict(), ensure_ascii=False),
                    )
                elif isinstance(record, Article) and len(record.text) > max_chars:
                    rejected_ids.add(record.id)
                    record = Rejection(
                        cf.display,
                        line,
                        f"text of {len(record.text) / 1e6:.1f} million characters is over indexing.max_text_mb "
                        f"({settings.max_text_mb:g}); raise it in config.yaml to index this article",
                    )
                if isinstance(record, Rejection):
                    report.rejected.append(record)
                    rejected_ids.update(_id_of(record))
                    if strict:
                        raise CorpusError(
                            f"{record} (stopped by --strict at the first bad record; "
                            f"records before it: {throttle.records - 1:,}, kept in the index)"
                        )
                    continue
                first_seen[record.id] = f"{cf.display}:{line}"
                digest = content_hash(record)
                old = existing.get(record.id)
                if old == digest:
                    report.unchanged += 1
                    continue
                yield (record, digest, old), record.title, record.text

    grouper = story_keys.grouper if story_keys is not None else None
    # user topics are (re)applied to the whole index by _retag after the records
    # the workers make the title's and body's terms too (the schema's GermanText takes them)
    enricher = Enricher(config.enrich, settings.workers, config.analysis)
    writer = _new_writer(ix, config)
    pending = 0
    try:
        for (record, digest, old), prepared in enricher.run(changed()):
            doc = to_document(
                record,
                digest,
                prepared.section,
                entities=prepared.entities,
                terms=prepared.terms,
                story=grouper.fields(record, prepared.signature) if grouper is not None else None,
            )
            if old is None:
                writer.add_document(**doc)
                report.added += 1
            else:
                writer.update_document(**doc)
                report.updated += 1
            pending += 1
            if pending >= settings.batch_size and not _joins_last_batch(
                enricher, writer, pending, report.added + report.updated, settings
            ):
                writer.commit(merge=False)  # a checkpoint; see merge_small for why no merging here
                writer, pending = _new_writer(ix, config), 0
        throttle.finish()
    except CorpusError:
        enricher.close()
        writer.commit(
            mergetype=merge_small
        )  # a strict stop keeps what was accepted before the bad record
        raise
    except BaseException:
        enricher.close(cancel=True)
        writer.cancel()  # crash or Ctrl-C: the index stays as at the last batch commit
        raise
    finally:
        if story_keys is not None:
            story_keys.close()
    enricher.close()
    report.workers = enricher.used_workers
    if pending:
        # the workers are done: a helper process may take half of this commit's postings
        writer.commit(mergetype=merge_small, helper=settings.workers > 1)
    else:
        writer.cancel()
    return set(first_seen) | rejected_ids


#: Indexed articles read per band key a new article shares with them, and in all per article
#: (see _StoryKeys._lookup).
CANDIDATES_PER_KEY = 8
CANDIDATES = 32


class _StoryKeys:
    """The run's story grouper with the band keys of the index it writes to.

    Every band key in the index is also in a sorted array beside it (``<indexname>_lsh.npz``),
    so a new article's keys are checked against the index in one array lookup, and Whoosh is
    asked for the articles behind a key only when the key is there. The array is saved at the
    end of a run; when it does not match the index (a killed run, an index from before it) it
    is made again from the index's ``lsh`` terms.
    """

    def __init__(self, index_dir: Path, ix: Index, config: Config) -> None:
        self.path = index_dir / f"{ix.indexname}_lsh.npz"
        self.grouper: StoryGrouper | None = None
        self._reader = None
        self._known = np.zeros(0, dtype=np.uint64)
        if not config.enrich.stories:
            return
        reader = ix.reader()
        if reader.doc_count() == 0:
            reader.close()
            self.grouper = StoryGrouper()
            return
        self._reader = reader
        self._known = self._load(reader)
        self._ids = column_lookup(reader, "id")
        self._stories = column_lookup(reader, "story")
        self._signatures = column_lookup(reader, "minhash")
        self._holding: dict[int, list[int]] = {}
        self._candidates: dict[int, tuple[str, str, bytes | None]] = {}
        self.grouper = StoryGrouper(self._lookup)

    def _load(self, reader) -> np.ndarray:
        try:
            with np.load(self.path) as data:
                if int(data["documents"]) == reader.doc_count():
                    return data["keys"]
        except (OSError, ValueError, KeyError):
            pass
        return np.unique(np.fromiter((int(t, 16) for t in reader.lexicon("lsh")), dtype=np.uint64))

    def _lookup(self, keys: list[int]) -> list[tuple[str, str, bytes | None]]:
        wanted = np.asarray(keys, dtype=np.uint64)
        known = self._known
        if not len(known):
            return []
        at = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
        docnums: dict[int, None] = {}
        for key in wanted[known[at] == wanted].tolist():
            docnums.update(dict.fromkeys(self._holders(key)))
            if len(docnums) >= CANDIDATES:
                break
        return [self._candidate(d) for d in docnums]

    def _holders(self, key: int) -> list[int]:
        """The first live articles holding a band key (remembered: copies share their keys)."""
        found = self._holding.get(key)
        if found is None:
            try:
                postings = self._reader.postings("lsh", format(key, "x")).all_ids()
            except TermNotFound:
                postings = iter(())
            # the first few articles holding a key speak for its story: boilerplate shared by
            # thousands of articles must not make every new one read them all
            live = (d for d in postings if not self._reader.is_deleted(d))
            found = list(itertools.islice(live, CANDIDATES_PER_KEY))
            if len(self._holding) < 100_000:
                self._holding[key] = found
        return found

    def _candidate(self, docnum: int) -> tuple[str, str, bytes | None]:
        found = self._candidates.get(docnum)
        if found is None:
            article_id = self._ids(docnum)
            found = (article_id, self._stories(docnum) or article_id, self._signatures(docnum))
            if len(self._candidates) < 100_000:
                self._candidates[docnum] = found
        return found

    def close(self) -> None:
        """Release the reader of the index as it was before the run."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def save(self, documents: int) -> None:
        """Record the index's band keys after the run (``documents``: its live articles then)."""
        if self.grouper is None:
            return
        new = np.fromiter(self.grouper.keys(), dtype=np.uint64)
        keys = np.union1d(self._known, new)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=keys, documents=np.int64(documents))
        os.replace(tmp, self.path)


def _joins_last_batch(
    enricher: Enricher, writer: SegmentWriter, pending: int, written: int, settings: IndexingConfig
) -> bool:
    """Should the rest of the run join this full batch rather than follow a checkpoint?

    Yes, with enrichment workers, when the input has been read to its end and the records still
    to write are fewer than a batch whose postings fit in the writer's memory with this batch's:
    the run's last commit then writes them all with the cores to itself (a forked helper takes
    half; see segments), where a checkpoint would compete with the workers (30,000 scale
    articles: the checkpoint at 20,000 took 4.5-6.0 s of the writing process alone; now the run
    commits once). A crash then loses under two batches.
    """
    left = enricher.read - written
    pool = writer.pool
    return (
        settings.workers > 1
        and enricher.exhausted
        and left < settings.batch_size
        and pool.currentsize * (pending + left) < pool.limit * pending
    )


def merge_small(writer: SegmentWriter, segments: list) -> list:
    """Whoosh merge policy: merge the segments under ``SMALL_SEGMENT`` documents, leave the rest.

    Whoosh's default (MERGE_SMALL) lets batch segments pile up and, from about twenty on, merges
    ever larger ones at every commit: indexing slowed down as the index grew. Merging costs
    about as much as indexing (Whoosh re-adds every posting in Python), so large segments are
    left alone (``newssearch optimize`` merges everything) and only the small ones that many
    small incremental runs leave behind are joined, which is cheap.
    """
    small = [s for s in segments if s.doc_count_all() < SMALL_SEGMENT]
    if len(small) < 2:
        return list(segments)
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in small]


#: Segments smaller than this are merged at the end of a run (see merge_small).
SMALL_SEGMENT = 2_000


def _id_of(rejection: Rejection) -> list[str]:
    """The id a rejected JSON record still names (its article must survive a prune), if any."""
    raw = rejection.raw or ""
    if not raw.startswith("{"):
        return []
    try:
        value = json.loads(raw).get("id")
    except (ValueError, AttributeError):
        return []
    return (
        [str(value)]
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value)
        else []
    )


def _prune(
    ix: Index, config: Config, existing: dict[str, str], seen: set[str], report: IndexReport
) -> None:
    """Delete the indexed articles whose records were not read in this run, in one commit."""
    stale = sorted(set(existing) - seen)
    if not stale:
        return
    writer = _new_writer(ix, config)
    try:
        for article_id in stale:
            writer.delete_by_term("id", article_id)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=merge_small)
    report.pruned = stale


def _new_writer(ix: Index, config: Config) -> SegmentWriter:
    try:
        return Writer(ix, limitmb=config.indexing.memory_mb, timeout=config.indexing.lock_timeout)
    except LockError:
        raise IndexLockedError(
            f"another process holds Whoosh's write lock on {ix.storage.folder}"
        ) from None


def _retag(
    ix: Index, config: Config, report: IndexReport, new_writer: Callable[[], SegmentWriter]
) -> None:
    """Give every article exactly the user topics whose saved query matches it.

    Runs over the whole index, so new articles get tagged and a changed ``topics:`` section
    re-tags old ones; only articles whose topics change are rewritten (from their stored
    fields: the corpus is not read again), in one commit.
    """
    from dataclasses import replace

    from .facets import column_lookup
    from .search import build_parser, parse

    # Saved queries are precise by intent: plain words must all match.
    parser = build_parser(ix.schema, replace(config.search, operator="and"))
    queries = {}
    for name, text in config.topics.items():
        try:
            queries[name] = parse(parser, text)
        except QueryError as exc:
            raise ConfigError(f"topics.{name}: {exc}") from None
    with ix.searcher() as searcher:
        wanted: dict[int, list[str]] = {}
        for name, q in queries.items():
            docs = list(searcher.docs_for_query(q))
            report.topics[name] = len(docs)
            for docnum in docs:
                wanted.setdefault(docnum, []).append(name)
        reader = searcher.reader()
        if reader.doc_count() == 0:
            return
        column = column_lookup(reader, "topic_facet")
        changes = []
        for docnum in reader.all_doc_ids():
            section, current = split_topics(column(docnum) or b"")
            topics = wanted.get(docnum, [])
            if topics != current:
                changes.append((searcher.stored_fields(docnum), section, topics))
    if not changes:
        return
    writer = new_writer()
    try:
        for fields, section, topics in changes:
            writer.update_document(
                **to_document(
                    from_stored(fields),
                    fields["hash"],
                    section or None,
                    topics,
                    stored_entities(fields),
                    story=kept_fields(from_stored(fields), fields.get("story")),
                )
            )
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=merge_small)
    report.retagged = len(changes)


def retag_index(index_dir: Path, config: Config) -> IndexReport:
    """Apply the configured user topics to an existing index without reading the corpus."""
    started = time.monotonic()
    index_dir = Path(index_dir)
    report = IndexReport(index_dir=str(index_dir))
    if read_meta(index_dir) is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    with write_lock(index_dir, config.indexing.lock_timeout, report.notes):
        meta = read_meta(index_dir)
        assert meta is not None
        check_compatible(index_dir, meta, config.analysis)
        ix = _open_whoosh(index_dir, meta)
        try:
            _retag(ix, config, report, new_writer=lambda: _new_writer(ix, config))
            report.documents = ix.doc_count()
        finally:
            ix.close()
    report.seconds = time.monotonic() - started
    return report


@dataclass(frozen=True)
class OptimizeReport:
    """What `newssearch optimize` did: segments before and after the merge."""

    index_dir: str
    segments_before: int
    segments_after: int
    documents: int
    seconds: float

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"merged {plural(self.segments_before, 'segment')} into {self.segments_after} "
            f"({plural(self.documents, 'article')}, {self.seconds:.1f}s); index {self.index_dir}"
        )


def _segment_count(ix: Index) -> int:
    with ix.reader() as reader:
        return len(reader.leaf_readers()) if reader.doc_count_all() else 0


def optimize_index(index_dir: Path, config: Config) -> OptimizeReport:
    """Merge all segments of the index into one (faster searches; takes a while on large indexes)."""
    started = time.monotonic()
    index_dir = Path(index_dir)
    if read_meta(index_dir) is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    notes: list[str] = []
    with write_lock(index_dir, config.indexing.lock_timeout, notes):
        meta = read_meta(index_dir)
        assert meta is not None
        check_compatible(index_dir, meta, config.analysis)
        ix = _open_whoosh(index_dir, meta)
        try:
            before = _segment_count(ix)
            writer = _new_writer(ix, config)
            writer.commit(optimize=True)  # a failure before the commit leaves the old segments live
            ix = ix.refresh()
            after, documents = _segment_count(ix), ix.doc_count()
        finally:
            ix.close()
    return OptimizeReport(str(index_dir), before, after, documents, time.monotonic() - started)


# -- checking --------------------------------------------------------------------------------


@dataclass
class CheckReport:
    """What `newssearch check` found: problems make the index untrustworthy, warnings do not."""

    index_dir: str
    documents: int = 0
    segments: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def summary(self) -> str:
        """One line for the terminal."""
        state = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"{self.index_dir}: {state}; {plural(self.documents, 'article')} in "
            f"{plural(self.segments, 'segment')}, {plural(len(self.warnings), 'warning')}"
        )


def check_index(index_dir: Path, analysis: AnalysisConfig) -> CheckReport:
    """Open every segment, read every id and hash, and compare with the last run's manifest."""
    index_dir = Path(index_dir)
    report = CheckReport(str(index_dir))
    meta = read_meta(index_dir)
    if meta is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    try:
        check_compatible(index_dir, meta, analysis)
    except IndexIncompatibleError as exc:
        report.problems.append(str(exc))
        if meta.get("format_version") != FORMAT_VERSION:
            return report
    try:
        ix = _open_whoosh(index_dir, meta)
        with ix.reader() as reader:
            seen: set[str] = set()
            for leaf, _ in reader.leaf_readers():
                report.segments += 1
                ids, hashes = leaf.column_reader("id"), leaf.column_reader("hash")
                for docnum in leaf.all_doc_ids():
                    doc_id = ids[docnum]
                    if not doc_id or not hashes[docnum]:
                        report.problems.append(
                            f"segment {report.segments}: document {docnum} has no id or hash"
                        )
                    elif doc_id in seen:
                        report.problems.append(f"id {doc_id!r} is stored twice")
                    seen.add(doc_id)
                if leaf.doc_count_all():
                    leaf.stored_fields(
                        leaf.doc_count_all() - 1
                    )  # the stored-fields file reads to its end
                next(iter(leaf.lexicon("body")), None)  # the term index opens
            report.documents = len(seen)
        ix.close()
    except IndexIncompatibleError as exc:
        report.problems.append(str(exc))
        return report
    except Exception as exc:  # a damaged file shows up as any of Whoosh's errors
        report.problems.append(
            f"cannot read the index: {type(exc).__name__}: {exc}; rebuild with --rebuild"
        )
        return report
    try:
        manifest = json.loads((index_dir / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        manifest = None  # missing or damaged: treated as "no record of a complete run"
    if not isinstance(manifest, dict) or manifest.get("indexname") != meta["indexname"]:
        report.warnings.append(
            "no record of a complete run for this index: the last run may have been interrupted"
        )
    elif manifest["documents"] != report.documents:
        report.warnings.append(
            f"the last complete run left {manifest['documents']:,} articles, the index holds {report.documents:,}: "
            "a later run was interrupted after committing part of its work; run `newssearch index` again"
        )
    try:
        owner = (index_dir / LOCK_FILE).read_text().strip()
    except OSError:
        owner = ""
    if owner.isdigit() and not _alive(int(owner)):
        report.warnings.append(
            f"process {owner} was killed while writing; the next run clears its lock"
        )
    return report


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
