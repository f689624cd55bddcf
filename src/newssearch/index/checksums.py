"""Checksums of an index's files, recorded at the end of every writing run and verified by `check`.

Whoosh never rewrites a file once its commit is done: a table of contents is named by its
generation, a segment by a random id, so a checksum recorded once stays valid for the file's
life. Each live file gets its size and a BLAKE2b digest; a compound segment file also gets one
digest per part (term table, postings, each column: stored fields, ids, facets, lengths), so a
damaged file is reported by what it holds. The record is ``<index name>_CHECKSUMS.json`` in the
index folder (``ns1_CHECKSUMS.json``), written after every commit of a run, and removed with its
index.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

__all__ = [
    "checksum_file",
    "compute",
    "describe_part",
    "file_digest",
    "live_files",
    "quick_problems",
    "verify",
]


def checksum_file(indexname: str) -> str:
    """The name of the file recording the checksums of Whoosh index ``indexname``'s files."""
    return f"{indexname}_CHECKSUMS.json"  # upper case: never taken for a segment's file


_CHUNK = 1 << 20

#: what a compound segment's part holds, by its name's ending
_PARTS = {
    ".trm": "term table",
    ".pst": "postings",
    "._stored.col": "stored fields",
    ".id.col": "id column",
    ".hash.col": "hash column",
    ".entity_facet.col": "entity facet column",
    ".topic_facet.col": "topic facet column",
    ".source_facet.col": "source facet column",
    ".date.col": "date column",
}


def describe_part(name: str) -> str:
    """What a segment part named ``name`` holds, in words."""
    for ending, words in _PARTS.items():
        if name.endswith(ending):
            return words
    if name.endswith("_len.col"):
        return "field lengths"
    return "data"


def _digest(data_chunks: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for chunk in data_chunks:
        h.update(chunk)
    return h.hexdigest()


def _read_range(path: Path, offset: int, length: int) -> Any:
    with open(path, "rb", opener=_no_follow) as fh:
        fh.seek(offset)
        while length > 0:
            chunk = fh.read(min(_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)


def file_digest(path: Path) -> str:
    """BLAKE2b (128 bits) of a whole file, read without following a symlink."""
    return _digest(_read_range(path, 0, 1 << 62))


def live_files(index_dir: Path, indexname: str) -> dict[str, list[str]]:
    """{file name: segment ids it holds} of the live table of contents and its segments."""
    storage = FileStorage(str(index_dir))
    toc = TOC.read(storage, indexname)
    files: dict[str, list[str]] = {f"_{indexname}_{toc.generation}.toc": []}
    prefixes = {segment.segment_id() + "." for segment in toc.segments}
    for name in os.listdir(index_dir):
        for prefix in prefixes:
            if name.startswith(prefix):
                files[name] = [prefix[:-1]]
    for segment in toc.segments:  # a missing segment file is damage; name it
        if segment.is_compound() and segment.segment_id() + ".seg" not in files:
            files[segment.segment_id() + ".seg"] = [segment.segment_id()]
    return files


def _parts(index_dir: Path, name: str) -> dict[str, tuple[int, int]]:
    """{part name: (offset, length)} of a compound segment file, or {} when it has none."""
    if not name.endswith(".seg"):
        return {}
    from whoosh.filedb.compound import CompoundStorage

    storage = FileStorage(str(index_dir))
    compound = CompoundStorage(storage.open_file(name), use_mmap=False)
    try:
        return {part: compound.range(part) for part in compound.list()}
    finally:
        compound.close()


def compute(index_dir: Path, indexname: str, previous: dict[str, Any]) -> dict[str, Any]:
    """The checksum record of the live files (entries of ``previous`` for unchanged files kept)."""
    files: dict[str, Any] = {}
    for name in sorted(live_files(index_dir, indexname)):
        path = index_dir / name
        size = path.stat().st_size
        old = previous.get(name)
        if isinstance(old, dict) and old.get("size") == size and old.get("blake2b"):
            files[name] = old  # written once, never rewritten: verified by `check`, not here
            continue
        entry: dict[str, Any] = {"size": size, "blake2b": file_digest(path)}
        parts = _parts(index_dir, name)
        if parts:
            entry["parts"] = {
                part: [offset, length, _digest(_read_range(path, offset, length))]
                for part, (offset, length) in sorted(parts.items())
            }
        files[name] = entry
    return {"indexname": indexname, "files": files}


def quick_problems(
    index_dir: Path, record: dict[str, Any], live: dict[str, list[str]]
) -> list[str]:
    """Problems found by sizes alone (cheap: one stat per file): missing or resized files."""
    problems: list[str] = []
    recorded: dict[str, Any] = record["files"] if isinstance(record.get("files"), dict) else {}
    for name in live:
        entry = recorded.get(name)
        if not isinstance(entry, dict):
            continue
        try:
            size = os.lstat(index_dir / name).st_size
        except FileNotFoundError:
            problems.append(f"{name} is missing")
            continue
        except OSError as exc:
            problems.append(f"{name} cannot be read ({exc.strerror})")
            continue
        if size != entry.get("size"):
            written = entry.get("size")
            written = f"{written:,}" if isinstance(written, int) else repr(written)
            problems.append(f"{name} has {size:,} bytes, {written} were written")
    return problems


def verify(
    index_dir: Path, record: dict[str, Any], live: dict[str, list[str]]
) -> tuple[list[str], list[str]]:
    """(problems, unrecorded files): each live file read and compared with its recorded digest."""
    problems = quick_problems(index_dir, record, live)
    named = {p.split(" ", 1)[0] for p in problems}
    recorded: dict[str, Any] = record["files"] if isinstance(record.get("files"), dict) else {}
    unrecorded = []
    for name in sorted(live):
        entry = recorded.get(name)
        if not isinstance(entry, dict):
            unrecorded.append(name)
            continue
        if name in named:
            continue
        path = index_dir / name
        try:
            if file_digest(path) == entry.get("blake2b"):
                continue
        except OSError as exc:
            problems.append(f"{name} cannot be read ({exc.strerror})")
            continue
        damaged = []
        parts = entry.get("parts")
        if isinstance(parts, dict):
            for part, spec in sorted(parts.items()):
                try:
                    offset, length, digest = spec
                    if _digest(_read_range(path, int(offset), int(length))) != digest:
                        damaged.append(f"{describe_part(part)} ({part})")
                except (OSError, TypeError, ValueError):
                    damaged.append(f"{describe_part(part)} ({part})")
        where = f": damaged {', '.join(damaged)}" if damaged else ""
        problems.append(f"{name} does not match the checksum written with it{where}")
    return problems, unrecorded
