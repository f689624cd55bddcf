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

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, Index, IndexVersionError
from whoosh.reading import EmptyReader, SegmentReader
from whoosh.util.filelock import try_for
from whoosh.writing import SegmentWriter

from .._whoosh_fast import FastPathError, warn_fallback
from .._whoosh_fast.segments import Writer
from ..config import AnalysisConfig, Config, IndexingConfig
from ..errors import (
    CorpusError,
    IndexDamagedError,
    IndexIncompatibleError,
    IndexLockedError,
    IndexNotFoundError,
    IndexWriteError,
    NewsSearchError,
)
from ..ingest.readers import CorpusFile, ReadOptions, discover, read_file
from ..models import Article, IndexReport, Progress, Rejection, plural
from . import checksums, safe_pickle
from .pool import Enricher
from .schema import (
    FORMAT_VERSION,
    build_schema,
    content_hash,
    to_document,
)
from .storykeys import StoryKeys

#: An archive-wide pass: (index, config, report, make a writer) -> None; see newssearch.archive.
ArchivePass = Callable[[Index, Config, IndexReport, Callable[[], SegmentWriter]], None]

META_FILE = "newssearch.json"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = "newssearch.lock"
_INDEX_FILE = re.compile(r"^_?(ns\d+)[_.]")
_INDEX_NAME = re.compile(r"ns\d+")
_TOC_FILE = re.compile(r"^_(ns\d+)_\d+\.toc$")

ProgressCallback = Callable[[Progress], None]

safe_pickle.install()  # no code from index files: every pickle Whoosh reads is restricted


# -- the folder's own files ------------------------------------------------------------------


def _open_own(path: Path, flags: int, mode: int = 0o644) -> int:
    """Open one of the folder's own files without following a symlink planted in its place."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IndexIncompatibleError(
                f"{path} is a symbolic link, not newssearch's own file: remove it "
                f"(`rm {path}`; the link's target is not touched) and run again"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IndexIncompatibleError(
            f"{path} is not a regular file (a FIFO, device or folder is in its place): "
            "remove it and run again"
        )
    return fd


def _read_own(path: Path) -> str:
    """The text of one of the folder's own files (FileNotFoundError when there is none)."""
    fd = _open_own(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        return fh.read().decode("utf-8")


def read_meta(index_dir: Path) -> dict[str, Any] | None:
    """The index's meta data, or None when the folder holds no meta file."""
    path = index_dir / META_FILE
    try:
        meta = json.loads(_read_own(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise IndexIncompatibleError(
            f"{path} is unreadable ({exc}){_meta_fix(index_dir)}"
        ) from None
    problem = _meta_problem(meta)
    if problem:
        raise IndexIncompatibleError(f"{path} is unreadable ({problem}){_meta_fix(index_dir)}")
    return meta


def _meta_problem(meta: Any) -> str:
    """What is wrong with a meta (or manifest) dict's index fields, or ""."""
    if not isinstance(meta, dict):
        return f"expected a JSON object, found {type(meta).__name__}"
    name = meta.get("indexname")
    if not isinstance(name, str) or not _INDEX_NAME.fullmatch(name):
        return f"'indexname' must be like \"ns1\", found {name!r}"
    if not isinstance(meta.get("analysis"), dict):
        return f"'analysis' must be an object, found {meta.get('analysis')!r}"
    return ""


def _meta_fix(index_dir: Path) -> str:
    if _manifest_meta(index_dir) is not None:
        return (
            "; the next `newssearch index` restores it from manifest.json, or restore it "
            "from a backup"
        )
    if _whoosh_indexnames(index_dir):
        return (
            "; restore it from a backup, or rebuild with `newssearch index --rebuild` "
            "(the old index's files are kept until the new one is complete)"
        )
    return "; rebuild with `newssearch index --rebuild`"


def _whoosh_indexnames(index_dir: Path) -> list[str]:
    """The Whoosh indexes in the folder that have a table of contents."""
    try:
        names = os.listdir(index_dir)
    except OSError:
        return []
    return sorted({m.group(1) for n in names if (m := _TOC_FILE.match(n))})


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The last complete run's manifest, or None when it is missing or malformed."""
    try:
        manifest = json.loads(_read_own(index_dir / MANIFEST_FILE))
    except (OSError, ValueError, IndexIncompatibleError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _manifest_meta(index_dir: Path) -> dict[str, Any] | None:
    """The meta data a valid manifest records for its index, if that index is in the folder."""
    manifest = read_manifest(index_dir)
    if manifest is None or _meta_problem(manifest) or "format_version" not in manifest:
        return None
    if manifest["indexname"] not in _whoosh_indexnames(index_dir):
        return None
    return {k: manifest[k] for k in ("format_version", "indexname", "analysis")}


def live_meta(
    index_dir: Path, notes: list[str] | None = None, restore: bool = False
) -> dict[str, Any] | None:
    """The meta data of the live index: from the meta file, else recovered from the manifest.

    None when the folder holds no index (nothing to protect). An index folder whose meta file
    is missing or unreadable but which holds an index with articles is never taken for an empty
    one: its meta data is recovered from the manifest (and, with ``restore``, written back,
    which only a writer holding the lock does), or IndexIncompatibleError says what to do.
    """
    try:
        meta = read_meta(index_dir)
        error = None
    except IndexIncompatibleError as exc:
        meta, error = None, exc
    if meta is not None:
        return meta
    names = _whoosh_indexnames(index_dir)
    recovered = _manifest_meta(index_dir)
    if recovered is not None:
        if restore:
            _write_json(index_dir / META_FILE, recovered)
            if notes is not None:
                notes.append(
                    f"{META_FILE} was missing or unreadable: restored it from {MANIFEST_FILE} "
                    f"(index {recovered['indexname']})"
                )
        return recovered
    if not names or not any(_holds_articles(index_dir, name) for name in names):
        if error is not None and names:
            return None  # a killed first run: no article to protect
        if error is not None:
            raise error
        return None
    raise IndexIncompatibleError(
        f"{index_dir / META_FILE} is {'unreadable' if error else 'missing'} but the folder holds "
        f"an index ({', '.join(names)}) and {MANIFEST_FILE} does not say how it was built: "
        f"restore {META_FILE} from a backup, or rebuild with `newssearch index --rebuild` (the "
        "old index's files are kept until the new one is complete); nothing was deleted"
    )


def _holds_articles(index_dir: Path, indexname: str) -> bool:
    """Does this Whoosh index hold any committed segment? (True when it cannot be read: keep it.)"""
    try:
        toc = TOC.read(FileStorage(str(index_dir)), indexname)
        return bool(toc.segments)
    except Exception:
        return True


def _write_meta(index_dir: Path, indexname: str, analysis: AnalysisConfig) -> None:
    meta = {
        "format_version": FORMAT_VERSION,
        "indexname": indexname,
        "analysis": analysis.as_dict(),
    }
    _write_json(index_dir / META_FILE, meta)  # atomic: readers see the old or the new index


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    # a killed run's, or a planted link: removing a link leaves its target alone
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = _open_own(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
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
            f"{k}: index has {stored.get(k) if isinstance(stored, dict) else None!r}, "
            f"config has {v!r}"
            for k, v in wanted.items()
            if not isinstance(stored, dict) or stored.get(k) != v
        )
        raise IndexIncompatibleError(
            f"the index in {index_dir} was built with other analysis settings ({diff}): "
            "rebuild it with `newssearch index --rebuild`, or restore those settings"
        )


def open_index(index_dir: Path, analysis: AnalysisConfig) -> Index:
    """Open the live index for reading, checking version, analysis settings and file sizes."""
    meta = live_meta(index_dir)
    if meta is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    check_compatible(index_dir, meta, analysis)
    ix = _open_whoosh(index_dir, meta)
    try:
        _verify_on_open(index_dir, meta["indexname"])
    except BaseException:
        ix.close()
        raise
    return ix


#: A small index's files are read and checksummed whenever it is opened; larger ones are only
#: compared by size (reading them all would cost more than most queries).
VERIFY_ON_OPEN_BYTES = 64_000_000


def _verify_on_open(index_dir: Path, name: str, attempts: int = 3) -> None:
    """Raise IndexDamagedError when a live file is missing, resized or (small index) altered.

    A writer committing meanwhile replaces the table of contents and may delete merged segment
    files: what fails while the generation changes is looked at again, not called damage.
    """
    for attempt in range(attempts):
        generation = _generation(index_dir, name)
        try:
            problems = _open_problems(index_dir, name)
            error = None
        except Exception as exc:  # the TOC went away under us, or is damaged
            problems, error = [], exc
        if (not problems and error is None) or attempt == attempts - 1:
            break
        if _generation(index_dir, name) == generation:
            break  # nothing changed meanwhile: it is damage
    if error is not None:
        raise damaged(index_dir, error) from None
    if problems:
        raise IndexDamagedError(_damage_message(index_dir, problems))


def _generation(index_dir: Path, name: str) -> int:
    return TOC._latest_generation(FileStorage(str(index_dir)), name)


def _open_problems(index_dir: Path, name: str) -> list[str]:
    record = _read_checksums(index_dir, name)
    live = checksums.live_files(index_dir, name)
    problems = checksums.quick_problems(index_dir, record, live)
    recorded = record["files"].values()
    if not problems and sum(e.get("size", 0) for e in recorded) <= VERIFY_ON_OPEN_BYTES:
        problems, _ = checksums.verify(index_dir, record, live)
    return problems


def _open_whoosh(index_dir: Path, meta: dict[str, Any]) -> Index:
    try:
        return whoosh_index.open_dir(str(index_dir), indexname=meta["indexname"])
    except (EmptyIndexError, IndexVersionError, KeyError) as exc:
        raise IndexIncompatibleError(
            f"the index in {index_dir} cannot be opened ({exc}): rebuild it with "
            "`newssearch index --rebuild`"
        ) from None
    except (AttributeError, ImportError, ModuleNotFoundError) as exc:  # unpickling the schema
        raise IndexIncompatibleError(
            f"the index in {index_dir} was written by another newssearch version ({exc}): "
            "rebuild it with `newssearch index --rebuild`"
        ) from None
    except NewsSearchError:
        raise
    except Exception as exc:  # a damaged table of contents: any of Whoosh's, zlib's, pickle's
        raise damaged(index_dir, exc) from None


def _damage_message(index_dir: Path, problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:3]) + (
        f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    )
    return (
        f"the index in {index_dir} is damaged: {shown}. `newssearch check --deep` lists all "
        "damage; rebuild it from the corpus with `newssearch index --rebuild` (or restore the "
        "folder from a backup)"
    )


def damage_found(index_dir: Path) -> list[str]:
    """The index's files that fail their checksums (reads them all: for when a read failed)."""
    try:
        meta = live_meta(index_dir)
        if meta is None:
            return []
        name = meta["indexname"]
        problems, _ = checksums.verify(
            index_dir, _read_checksums(index_dir, name), checksums.live_files(index_dir, name)
        )
        return problems
    except Exception as exc:  # the table of contents itself is damaged
        return [f"the table of contents cannot be read ({type(exc).__name__})"]


def damaged(
    index_dir: Path, exc: BaseException, problems: Sequence[str] | None = None
) -> IndexDamagedError:
    """The error for an index file that failed to decode: names the damaged files if it can."""
    if problems is None:
        problems = damage_found(index_dir)
    reason = f"{type(exc).__name__}: {exc}"[:200]
    if problems:
        return IndexDamagedError(_damage_message(index_dir, problems) + f" ({reason})")
    return IndexDamagedError(
        f"the index in {index_dir} could not be read ({reason}): run `newssearch check --deep`; "
        "if it finds damage, rebuild with `newssearch index --rebuild`; if it finds none, this "
        "is a bug in newssearch: please report it with this message"
    )


# -- locking ---------------------------------------------------------------------------------


@contextmanager
def write_lock(index_dir: Path, timeout: float, notes: list[str] | None = None) -> Iterator[None]:
    """Hold the index's write lock, waiting up to ``timeout`` seconds for another writer.

    The lock is an flock, which the OS releases when its process dies; the file also names the
    holder's pid and is emptied on a clean exit, so a pid left in it means a writer was killed.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = _open_own(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT)
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
                        f"another process ({_lock_owner(fd) or 'unknown pid'}) is writing to "
                        "the index in "
                        f"{index_dir}; waited {timeout:g}s: wait for it to finish, or raise "
                        "indexing.lock_timeout in config.yaml"
                    ) from None
                time.sleep(0.1)
        previous = _lock_owner(fd)
        if previous and notes is not None:
            notes.append(
                f"cleared a stale lock left by process {previous}, which stopped without "
                "finishing; "
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
    owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return owner if owner.isdigit() else ""  # only ever a pid: print nothing else from it


# -- writing ---------------------------------------------------------------------------------


def _next_indexname(index_dir: Path) -> str:
    numbers = [int(m.group(1)[2:]) for p in index_dir.iterdir() if (m := _INDEX_FILE.match(p.name))]
    return f"ns{max(numbers, default=0) + 1}"


def _remove(path: Path) -> None:
    """Delete a file, a link (not its target) or a folder of ours; a failure is left for later."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        pass  # a reader may still hold it on some systems; the next run retries


def clean_leftovers(index_dir: Path, keep: str | None) -> None:
    """Remove what killed or failed runs left: temporary folders and files (spills), files of
    other Whoosh indexes (abandoned rebuilds) and of segments not in the live table of contents.

    Only a writer holding the lock calls this; ``keep`` is the live index (None: none yet).
    """
    for p in list(index_dir.iterdir()):
        if p.name.startswith("."):
            continue
        if p.name.endswith(".tmp") or (
            keep is not None and (m := _INDEX_FILE.match(p.name)) and m.group(1) != keep
        ):
            _remove(p)
    if keep is None or keep not in _whoosh_indexnames(index_dir):
        return
    storage = FileStorage(str(index_dir))
    try:
        toc = TOC.read(storage, keep)
    except Exception:
        return  # an unreadable table of contents: delete nothing (check reports it)
    whoosh_index.clean_files(storage, keep, toc.generation, toc.segments)


def _folder_bytes(index_dir: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(index_dir):
        for name in filenames:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _write_error(index_dir: Path, exc: OSError) -> IndexWriteError:
    """One clear message for an OS error while writing, with what to do about it."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        need = max(_folder_bytes(index_dir), 1_000_000)
        return IndexWriteError(
            f"the disk holding {index_dir} is full{where}: free at least {need / 1e6:,.0f} MB "
            "(about "
            "the index's size: a batch, a merge or a rebuild may need that much again) and run "
            "again; the index is as at its last commit and this run's partial files were removed"
        )
    return IndexWriteError(
        f"writing the index in {index_dir} failed: {exc.strerror or exc}{where}: check the "
        "folder's permissions and the disk, then run again; the index is as at its last commit"
    )


@contextmanager
def _clean_failure(index_dir: Path, keep: Callable[[], str | None]) -> Iterator[None]:
    """Inside the lock: an OS error removes this run's partial files and becomes IndexWriteError."""
    try:
        yield
    except OSError as exc:
        with contextlib.suppress(Exception):  # else the next writing run cleans up
            clean_leftovers(index_dir, keep())
        raise _write_error(index_dir, exc) from None


def _read_checksums(index_dir: Path, indexname: str) -> dict[str, Any]:
    """The recorded checksums of ``indexname``'s files ({"files": {}} when there are none)."""
    try:
        record = json.loads(_read_own(index_dir / checksums.checksum_file(indexname)))
    except (OSError, ValueError, IndexIncompatibleError):
        record = None
    if (
        not isinstance(record, dict)
        or record.get("indexname") != indexname
        or not isinstance(record.get("files"), dict)
    ):
        return {"indexname": indexname, "files": {}}
    return record


def _record_checksums(index_dir: Path, indexname: str) -> None:
    previous = _read_checksums(index_dir, indexname)["files"]
    _write_json(
        index_dir / checksums.checksum_file(indexname),
        checksums.compute(index_dir, indexname, previous),
    )


#: Files the archive-wide passes keep beside the index (newssearch.archive.resolve.MAP_FILE).
PASS_FILES = ("entities.json",)
_OWN_FILES = frozenset(
    name + suffix
    for name in (LOCK_FILE, META_FILE, MANIFEST_FILE, *PASS_FILES)
    for suffix in ("", ".tmp")
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
            f"{index_dir} is not empty and holds no newssearch index "
            f"({', '.join(sorted(foreign)[:3])} ...): "
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


def _build_index(
    index_dir: Path,
    config: Config,
    paths: Iterable[str | Path],
    rebuild: bool = False,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    prune: bool = False,
    passes: Sequence[ArchivePass] = (),
    delimiter: str | None = None,
    encoding: str | None = None,
) -> IndexReport:
    """Index every record under ``paths`` into ``index_dir``; see :meth:`NewsSearch.index`.

    ``passes`` run over the whole index after the records are written (user topics, ...).
    """
    options = ReadOptions(fields=config.fields, delimiter=delimiter, encoding=encoding)
    started = time.monotonic()
    index_dir = Path(index_dir)
    files, skipped = discover(paths)
    report = IndexReport(index_dir=str(index_dir), files=len(files), skipped_files=skipped)
    _check_folder_is_ours(index_dir)
    live: list[str | None] = [None]  # the index a failure leaves live (its files are kept)
    with (
        write_lock(index_dir, config.indexing.lock_timeout, report.notes),
        _clean_failure(index_dir, lambda: live[0]),
    ):
        protect = False  # an index whose meta data is lost: kept until a rebuild is complete
        try:
            meta = live_meta(index_dir, report.notes, restore=True)
        except IndexIncompatibleError:
            if not rebuild:
                raise
            meta, protect = None, True
        if meta is not None and not rebuild:
            check_compatible(index_dir, meta, config.analysis)
        live[0] = meta["indexname"] if meta is not None else None
        clean_leftovers(index_dir, live[0])
        if meta is None or rebuild:
            name = _next_indexname(index_dir)
            ix = whoosh_index.create_in(
                str(index_dir), build_schema(config.analysis), indexname=name
            )
            if meta is None and not protect:  # nothing to protect: batches visible as they commit
                _write_meta(index_dir, name, config.analysis)
                live[0] = name
            existing: dict[str, str] = {}
            report.rebuilt = True
        else:
            name = meta["indexname"]
            ix = _open_whoosh(index_dir, meta)
            try:
                _verify_on_open(index_dir, name)  # never build on damage: --rebuild is the fix
                existing = _existing_hashes(ix)
            except NewsSearchError:
                ix.close()
                raise
            except Exception as exc:
                ix.close()
                raise damaged(index_dir, exc) from None
        try:
            story_keys = StoryKeys(index_dir, ix, config)
            seen = _write_records(
                ix, config, files, existing, report, strict, progress, options, story_keys
            )
            if prune:
                _prune(ix, config, existing, seen, report)
            for archive_pass in passes:
                archive_pass(ix, config, report, lambda: new_writer(ix, config))
            story_keys.save(ix.doc_count())
        finally:
            report.documents = ix.doc_count()
            ix.close()
        if rebuild and (meta is not None or protect):
            _write_meta(index_dir, name, config.analysis)  # the switch to the rebuilt index
            live[0] = name
        clean_leftovers(index_dir, name)
        _record_checksums(index_dir, name)
        _write_json(
            index_dir / MANIFEST_FILE,
            {
                "indexname": name,
                "format_version": FORMAT_VERSION,
                "analysis": config.analysis.as_dict(),
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
    story_keys: StoryKeys | None = None,
) -> set[str]:
    """Write new and changed records; returns the ids of every record read (for ``prune``)."""
    settings = config.indexing
    throttle = _Throttle(progress, sum(_size(cf) for cf in files))
    max_chars = int(settings.max_text_mb * 1_000_000)
    first_seen: dict[str, str] = {}
    rejected_ids: set[str] = set()  # records still in the corpus, though not indexable now

    def changed() -> Iterator[tuple[tuple[Article, str, str | None], str | None, str]]:
        """Read every record; account for the rejected and unchanged ones, yield the rest."""
        for cf in files:
            for line, record in _isolated(
                cf, read_file(cf, throttle.add_bytes, options or ReadOptions())
            ):
                throttle.records += 1
                try:
                    record, digest = _screen(record, cf.display, line)
                except Exception as exc:  # whatever one record does, the run goes on
                    record, digest = _rejection(record, cf.display, line, exc), ""
                if isinstance(record, Rejection):
                    reject(record)
                    continue
                first_seen[record.id] = f"{cf.display}:{line}"
                old = existing.get(record.id)
                if old == digest:
                    report.unchanged += 1
                    continue
                yield (record, digest, old), record.title, record.text

    grouper = story_keys.grouper if story_keys is not None else None

    def _screen(record: Article | Rejection, display: str, line: int) -> tuple[Any, str]:
        """(the record or its Rejection, its content hash)."""
        if isinstance(record, Rejection):
            return record, ""
        if record.id in first_seen:
            return Rejection(
                display,
                line,
                f"duplicate id {record.id!r} (first seen at {first_seen[record.id]}); "
                "record skipped",
                _raw(record),
            ), ""
        if len(record.text) > max_chars:
            rejected_ids.add(record.id)
            return Rejection(
                display,
                line,
                f"text of {len(record.text) / 1e6:.1f} million characters is over "
                f"indexing.max_text_mb ({settings.max_text_mb:g}); raise it in config.yaml to "
                "index this article",
                _raw(record),
            ), ""
        return record, content_hash(record)  # a lone surrogate fails here: not valid Unicode

    def reject(record: Rejection) -> None:
        report.rejected.append(record)
        rejected_ids.update(_id_of(record))
        if strict:
            raise CorpusError(
                f"{record} (stopped by --strict at the first bad record; "
                f"records before it: {throttle.records - 1:,}, kept in the index)"
            )

    # user topics are (re)applied to the whole index by an archive pass after the records
    # the workers make the title's and body's terms too (the schema's GermanText takes them)
    enricher = Enricher(config.enrich, settings.workers, config.analysis)
    writer = new_writer(ix, config)
    pending = 0
    try:
        for (record, digest, old), prepared in enricher.run(changed()):
            try:
                if prepared.error:
                    raise EnrichmentFailed(prepared.error)
                doc = to_document(
                    record,
                    digest,
                    prepared.section,
                    entities=prepared.entities,
                    terms=prepared.terms,
                    story=(
                        grouper.fields(record, prepared.signature) if grouper is not None else None
                    ),
                )
            except Exception as exc:  # one record's failure rejects that record only
                display, line = first_seen[record.id].rsplit(":", 1)
                reject(_rejection(record, display, line, exc))
                rejected_ids.add(record.id)
                continue
            if old is None:
                writer.add_document(**doc)
                report.added += 1
            else:
                writer.update_document(**doc)
                report.updated += 1
            pending += 1
            if pending >= settings.batch_size and not joins_last_batch(
                enricher, writer, pending, report.added + report.updated, settings
            ):
                writer.commit(merge=False)  # a checkpoint; see merge_small for why no merging here
                _record_checksums(Path(ix.storage.folder), ix.indexname)
                writer, pending = new_writer(ix, config), 0
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
        if isinstance(writer, Writer):
            writer.commit(mergetype=merge_small, helper=settings.workers > 1)
        else:
            writer.commit(mergetype=merge_small)
    else:
        writer.cancel()
    return set(first_seen) | rejected_ids


def joins_last_batch(
    enricher: Enricher, writer: SegmentWriter, pending: int, written: int, settings: IndexingConfig
) -> bool:
    """Should the rest of the run join this full batch rather than follow a checkpoint?

    Yes, with enrichment workers, when the input has been read to its end and the records still
    to write are fewer than a batch whose postings fit in the writer's memory with this batch's:
    the run's last commit then writes them all with the cores to itself (a forked helper takes
    half; see segments), where a checkpoint would run in the writing process alone while the
    workers hold the cores. A crash then loses under two batches.
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


def _size(cf: CorpusFile) -> int:
    try:
        return cf.size
    except OSError:  # gone since it was found: read_file says so
        return 0


def _isolated(cf: CorpusFile, records: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """A file's records; a reader failing on it rejects the rest of that file, not the run."""
    while True:
        try:
            yield next(records)
        except StopIteration:
            return
        except Exception as exc:
            yield (
                0,
                Rejection(
                    cf.display,
                    0,
                    f"the file could not be read to its end ({type(exc).__name__}: "
                    f"{str(exc)[:200]}); the rest of it was not read",
                ),
            )
            return


class EnrichmentFailed(Exception):
    """Enriching or analysing one record failed (the message says why)."""


def _raw(article: Article) -> str:
    """An accepted record as JSON, for the rejects file when it is rejected later."""
    return json.dumps(article.to_dict(), ensure_ascii=False, default=str)


def _rejection(record: Any, display: str, line: int | str, exc: BaseException) -> Rejection:
    """The Rejection for a record whose screening, analysis or enrichment raised ``exc``."""
    if isinstance(exc, UnicodeEncodeError) and "surrogate" in str(exc):
        reason = (
            f"the record holds a lone surrogate (U+{ord(exc.object[exc.start]):04X}), which is "
            "not valid Unicode (text cut in the middle of a character by a scraper): fix the record"
        )
    elif isinstance(exc, RecursionError):
        reason = "the record is nested too deeply"
    else:
        reason = f"cannot index the record ({type(exc).__name__}: {str(exc)[:200]})"
    raw = record.raw if isinstance(record, Rejection) else None
    if raw is None and isinstance(record, Article):
        try:
            raw = _raw(record)
        except Exception:
            raw = None
    if raw is not None:
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:  # the rejects file is UTF-8: keep the record, escaped
            raw = raw.encode("utf-8", "backslashreplace").decode("utf-8")
    return Rejection(display, int(line), reason, raw)


def _id_of(rejection: Rejection) -> list[str]:
    """The id a rejected JSON record still names (its article must survive a prune), if any."""
    raw = rejection.raw or ""
    if not raw.startswith("{"):
        return []
    try:
        value = json.loads(raw).get("id")
    except (ValueError, AttributeError, RecursionError):
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
    writer = new_writer(ix, config)
    try:
        for article_id in stale:
            writer.delete_by_term("id", article_id)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=merge_small)
    report.pruned = stale


def _cancel(writer: SegmentWriter) -> None:
    with contextlib.suppress(Exception):  # already finished by the failure
        writer.cancel()


def new_writer(ix: Index, config: Config) -> SegmentWriter:
    """A segment writer: the fast one when ``indexing.fast_writer`` is on, else Whoosh's own."""
    settings = config.indexing
    # Whoosh's write lock is taken here, not by the writer: a writer whose construction fails
    # (disk full) would keep it for the rest of the process.
    lock = ix.lock("WRITELOCK")
    if not try_for(lock.acquire, timeout=settings.lock_timeout, delay=0.1):
        raise IndexLockedError(f"another process holds Whoosh's write lock on {ix.storage.folder}")
    try:
        writer = None
        if settings.fast_writer:
            try:
                writer = Writer(ix, limitmb=settings.memory_mb, _lk=False)
            except OSError:  # not a surprise of the fast path: the disk
                raise
            except Exception as exc:  # Whoosh internals not as expected
                warn_fallback("segment writer", exc)
        if writer is None:
            writer = SegmentWriter(ix, limitmb=settings.memory_mb, _lk=False)
    except BaseException:
        lock.release()
        raise
    writer.writelock = lock  # released by the writer's commit or cancel
    return writer


def _run_passes(index_dir: Path, config: Config, passes: Sequence[ArchivePass]) -> IndexReport:
    """Run archive-wide passes over an existing index without reading the corpus."""
    started = time.monotonic()
    index_dir = Path(index_dir)
    report = IndexReport(index_dir=str(index_dir))
    if live_meta(index_dir) is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    with write_lock(index_dir, config.indexing.lock_timeout, report.notes):
        meta = live_meta(index_dir, report.notes, restore=True)
        if meta is None:
            raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
        name = meta["indexname"]
        with _clean_failure(index_dir, lambda: name):
            check_compatible(index_dir, meta, config.analysis)
            clean_leftovers(index_dir, name)
            _verify_on_open(index_dir, name)
            ix = _open_whoosh(index_dir, meta)
            try:
                for archive_pass in passes:
                    archive_pass(ix, config, report, lambda: new_writer(ix, config))
                report.documents = ix.doc_count()
            finally:
                ix.close()
            clean_leftovers(index_dir, name)
            _record_checksums(index_dir, name)
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


def _optimize_index(index_dir: Path, config: Config) -> OptimizeReport:
    """Merge all segments of the index into one (faster searches; slow on large indexes)."""
    started = time.monotonic()
    index_dir = Path(index_dir)
    if live_meta(index_dir) is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    notes: list[str] = []
    with write_lock(index_dir, config.indexing.lock_timeout, notes):
        meta = live_meta(index_dir, notes, restore=True)
        if meta is None:
            raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
        name = meta["indexname"]
        with _clean_failure(index_dir, lambda: name):
            check_compatible(index_dir, meta, config.analysis)
            clean_leftovers(index_dir, name)
            _verify_on_open(index_dir, name)
            ix = _open_whoosh(index_dir, meta)
            try:
                before = _segment_count(ix)
                writer = new_writer(ix, config)
                try:
                    writer.commit(optimize=True)  # a failure before the commit: old segments live
                except BaseException:
                    _cancel(writer)
                    raise
                ix = ix.refresh()
                after, documents = _segment_count(ix), ix.doc_count()
            finally:
                ix.close()
            clean_leftovers(index_dir, name)
            _record_checksums(index_dir, name)
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


def check_index(index_dir: Path, analysis: AnalysisConfig, deep: bool = False) -> CheckReport:
    """Verify the index: checksums of its files, every segment's ids and hashes, the manifest.

    ``deep`` also decodes every term, posting block, stored field and column value.
    """
    index_dir = Path(index_dir)
    report = CheckReport(str(index_dir))
    try:
        meta = read_meta(index_dir)
    except IndexIncompatibleError as exc:
        meta = None
        report.problems.append(str(exc))
    if meta is None:
        if not report.problems and not _whoosh_indexnames(index_dir):
            raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
        try:
            meta = live_meta(index_dir)
        except IndexIncompatibleError as exc:
            if not report.problems:
                report.problems.append(str(exc))
            return report
        if meta is None:
            report.problems.append(
                f"{META_FILE} is missing and the folder holds no articles: run `newssearch index`"
            )
            return report
        if not report.problems:
            report.problems.append(
                f"{META_FILE} is missing: the next `newssearch index` restores it from "
                f"{MANIFEST_FILE} (index {meta['indexname']}), or restore it from a backup"
            )
    try:
        check_compatible(index_dir, meta, analysis)
    except IndexIncompatibleError as exc:
        report.problems.append(str(exc))
        if meta.get("format_version") != FORMAT_VERSION:
            return report
    name = meta["indexname"]
    try:
        ix = _open_whoosh(index_dir, meta)
    except NewsSearchError as exc:
        report.problems.append(str(exc))
        return report
    try:
        live = checksums.live_files(index_dir, name)
        problems, unrecorded = checksums.verify(index_dir, _read_checksums(index_dir, name), live)
        report.problems.extend(problems)
        if unrecorded:
            report.warnings.append(
                f"{plural(len(unrecorded), 'file')} of the index "
                f"ha{'s' if len(unrecorded) == 1 else 've'} no checksum (written by an "
                "interrupted run or an older newssearch): "
                + ("decoded by --deep" if deep else "`newssearch check --deep` decodes them")
                + "; the next `newssearch index` records them"
            )
        _check_segments(ix, report, deep)
    finally:
        ix.close()
    if not report.problems:  # a damaged index's count says nothing about interrupted runs
        _check_manifest(index_dir, name, report)
    try:
        owner = _read_own(index_dir / LOCK_FILE).strip()
    except (OSError, ValueError, IndexIncompatibleError):
        owner = ""
    if owner.isdigit() and not _alive(int(owner)):
        report.warnings.append(
            f"process {owner} was killed while writing; the next run clears its lock"
        )
    return report


def _check_segments(ix: Index, report: CheckReport, deep: bool) -> None:
    """Read every segment's ids and hashes (``deep``: everything) into ``report``."""
    seen: set[str] = set()
    try:
        reader = ix.reader()
    except Exception as exc:
        report.problems.append(f"cannot open the index's segments: {type(exc).__name__}: {exc}")
        return
    with reader:
        for leaf, _ in reader.leaf_readers():
            if isinstance(leaf, EmptyReader):  # an index with no segment yet: nothing to read
                continue
            report.segments += 1
            segment = getattr(leaf, "segment", None)
            label = segment().segment_id() if callable(segment) else f"segment {report.segments}"
            try:
                ids, hashes = leaf.column_reader("id"), leaf.column_reader("hash")
                for docnum in leaf.all_doc_ids():
                    doc_id = ids[docnum]
                    if not isinstance(doc_id, str) or not doc_id.strip() or not hashes[docnum]:
                        report.problems.append(f"{label}: document {docnum} has no id or hash")
                    elif doc_id in seen:
                        report.problems.append(f"id {doc_id!r} is stored twice")
                    seen.add(doc_id)
                if leaf.doc_count_all():
                    leaf.stored_fields(leaf.doc_count_all() - 1)  # stored fields read to the end
                next(iter(leaf.lexicon("body")), None)  # the term index opens
                if deep:
                    report.problems.extend(f"{label}: {p}" for p in deep_problems(leaf))
            except Exception as exc:  # a damaged file shows up as any of Whoosh's errors
                report.problems.append(
                    f"{label} cannot be read ({type(exc).__name__}: {str(exc)[:200]}): rebuild "
                    "with `newssearch index --rebuild`"
                )
    report.documents = len(seen)


def deep_problems(leaf: SegmentReader, limit: int = 20) -> list[str]:
    """Decode every term, posting, stored field and column value of one segment; what fails."""
    from whoosh.matching.wrappers import FilterMatcher

    problems: list[str] = []
    schema, count = leaf.schema, leaf.doc_count_all()

    def fail(what: str, exc: BaseException) -> bool:
        problems.append(f"{what} cannot be decoded ({type(exc).__name__}: {str(exc)[:120]})")
        return len(problems) >= limit

    for fieldname in leaf.indexed_field_names():
        fmt = schema[fieldname].format
        positions = fmt.supports("positions")
        try:
            for text in leaf.lexicon(fieldname):
                info = leaf.term_info(fieldname, text)
                m = leaf.postings(fieldname, text)
                if isinstance(m, FilterMatcher):  # skips deleted documents: the table counts them
                    m = m.child
                    m.reset()  # the filter has moved it past the first deleted ones
                found, last = 0, -1
                while m.is_active():
                    docnum = m.id()
                    if not last < docnum < count:
                        raise ValueError(f"posting for document {docnum} out of order or range")
                    m.value()
                    if positions:
                        m.value_as("positions")
                    last, found = docnum, found + 1
                    m.next()
                if found != info.doc_frequency():
                    raise ValueError(
                        f"{found} postings, the term table says {info.doc_frequency()}"
                    )
        except Exception as exc:
            if fail(f"the {fieldname!r} terms or postings", exc):
                return problems
    try:
        for docnum in range(count):
            fields = leaf.stored_fields(docnum)
            if not isinstance(fields, dict) or not isinstance(fields.get("id"), str):
                raise ValueError(f"document {docnum} has no stored id")
            for value in fields.values():
                if isinstance(value, str):
                    value.encode("utf-8")
    except Exception as exc:
        if fail("the stored fields", exc):
            return problems
    for fieldname, fieldobj in schema.items():
        if not fieldobj.column_type or not leaf.has_column(fieldname):
            continue
        try:
            # raw values: an undated article's date is the column's default, no datetime
            for value in leaf.column_reader(fieldname, translate=False):
                if isinstance(value, bytes) and fieldname.endswith("_facet"):
                    value.decode("utf-8")
        except Exception as exc:
            if fail(f"the {fieldname!r} column", exc):
                return problems
    return problems


def _check_manifest(index_dir: Path, name: str, report: CheckReport) -> None:
    manifest = read_manifest(index_dir)
    documents = manifest.get("documents") if manifest is not None else None
    if manifest is None or manifest.get("indexname") != name:
        report.warnings.append(
            "no record of a complete run for this index: the last run may have been interrupted"
        )
    elif isinstance(documents, bool) or not isinstance(documents, int):
        report.warnings.append(
            f"{MANIFEST_FILE} is malformed ('documents' is {documents!r}): the next "
            "`newssearch index` rewrites it"
        )
    elif documents != report.documents:
        report.warnings.append(
            f"the last complete run left {documents:,} articles, the index holds "
            f"{report.documents:,}: a later run was interrupted after committing part of its work; "
            "run `newssearch index` again"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _with_plain_fallback(
    run: Callable[..., Any], index_dir: Path, config: Config, *args: Any
) -> Any:
    """``run(index_dir, config, *args)``; if the fast segment writer fails, again with Whoosh's."""
    try:
        return run(index_dir, config, *args)
    except FastPathError as exc:
        warn_fallback("segment writer", exc)
        plain = config.replace(indexing=dataclasses.replace(config.indexing, fast_writer=False))
        return run(index_dir, plain, *args)


def build_index(
    index_dir: Path,
    config: Config,
    paths: Iterable[str | Path],
    rebuild: bool = False,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    prune: bool = False,
    passes: Sequence[ArchivePass] = (),
    delimiter: str | None = None,
    encoding: str | None = None,
) -> IndexReport:
    """Index every record under ``paths`` into ``index_dir``; see :meth:`NewsSearch.index`.

    ``passes`` run over the whole index after the records are written (user topics, ...). If
    the fast segment writer fails, the run is redone with Whoosh's own writer: batches already
    committed are unchanged records by then, so the second run only reads them.
    """
    args = (list(paths), rebuild, strict, progress, prune, passes, delimiter, encoding)
    return _with_plain_fallback(_build_index, index_dir, config, *args)


def optimize_index(index_dir: Path, config: Config) -> OptimizeReport:
    """Merge all segments of the index into one (faster searches; slow on large indexes)."""
    return _with_plain_fallback(_optimize_index, index_dir, config)


def run_passes(index_dir: Path, config: Config, passes: Sequence[ArchivePass]) -> IndexReport:
    """Run archive-wide passes over an existing index without reading the corpus."""
    return _with_plain_fallback(_run_passes, index_dir, config, passes)
