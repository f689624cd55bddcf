"""Corpus readers: stream Articles (or Rejections naming file and line) from files and folders.

Supported: JSON Lines (``.jsonl``, ``.jsonl.gz``), CSV with a header (``.csv``) and plain text
(``.txt``, ``.md``: the first non-empty line is the title, the rest the body). Nothing is loaded
whole into memory except a single text file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import errno
import gzip
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import CorpusError
from ..models import Article, Rejection

Record = Article | Rejection
#: A record with the line it starts on.
Located = tuple[int, Record]

TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = (".jsonl", ".jsonl.gz", ".csv") + TEXT_SUFFIXES
_STRING_FIELDS = ("title", "source", "url", "author", "section")


@dataclass(frozen=True)
class CorpusFile:
    """One file to read, with the name its records are reported under."""

    path: Path
    display: str  # path as the user will recognise it in messages
    relative: str  # path relative to the corpus root: the id of a text file

    @property
    def size(self) -> int:
        """Size in bytes (for progress)."""
        return self.path.stat().st_size


def has_supported_suffix(path: Path) -> bool:
    """True if a reader exists for this file name."""
    return path.name.lower().endswith(SUFFIXES)


def discover(paths: Iterable[str | Path]) -> tuple[list[CorpusFile], list[str]]:
    """Expand files and folders (recursively, hidden entries skipped) into readable files.

    Returns the files to read and the paths that were skipped: no reader handles them, or they
    are not regular files (FIFOs, devices, sockets: reading one could hang), symlink loops,
    dangling links, or names that are not UTF-8 (with the reason in brackets). A path that does
    not exist is a :class:`CorpusError`.
    """
    files: list[CorpusFile] = []
    skipped: list[str] = []
    seen: set[tuple[int, int]] = set()
    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise CorpusError(f"corpus path not found: {raw}")
        if root.is_dir():
            candidates = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if not name.startswith("."):
                        full = Path(dirpath) / name
                        candidates.append((full, full.relative_to(root).as_posix()))
        else:
            candidates = [(root, root.name)]
        for full, relative in candidates:
            display = printable_path(full)
            problem = _not_readable(full)
            if problem:
                if f"{display} ({problem})" not in skipped:
                    skipped.append(f"{display} ({problem})")
                continue
            st = full.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            if has_supported_suffix(full):
                files.append(CorpusFile(full, display, relative))
            else:
                skipped.append(display)
    return files, skipped


def printable_path(path: Path) -> str:
    """The path as text that can be printed (undecodable bytes of its name shown as U+FFFD)."""
    return os.fsencode(path).decode("utf-8", "replace")


def _not_readable(path: Path) -> str:
    """Why ``path`` is not a file to read, or "" (never opens it: a FIFO would block)."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return "the file name is not valid UTF-8: rename it"
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if path.is_symlink():
            return "a dangling symbolic link"
        return f"cannot read it: {exc.strerror}"
    if stat.S_ISREG(mode):
        return ""
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return f"{kind}, not a regular file"


def read_corpus(
    paths: Iterable[str | Path],
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[Record]:
    """Stream every record under ``paths``; ``on_progress(bytes)`` reports bytes consumed."""
    files, _ = discover(paths)
    for cf in files:
        for _, record in read_file(cf, on_progress):
            yield record


def read_file(
    cf: CorpusFile, on_progress: Callable[[int], None] | None = None
) -> Iterator[Located]:
    """Stream (line, record) for one file, reporting consumed bytes as it goes."""
    name = cf.path.name.lower()
    try:
        raw = open(cf.path, "rb")
    except OSError as exc:
        yield 0, Rejection(cf.display, 0, f"cannot open file: {exc.strerror or exc}")
        return
    with raw:
        last = 0
        if name.endswith(".jsonl.gz"):
            records = _read_jsonl(cf, gzip.GzipFile(fileobj=raw))
        elif name.endswith(".jsonl"):
            records = _read_jsonl(cf, raw)
        elif name.endswith(".csv"):
            records = _read_csv(cf, raw)
        else:
            records = _read_text(cf, raw)
        try:
            for located in records:
                yield located
                if on_progress is not None:
                    pos = raw.tell()
                    on_progress(pos - last)
                    last = pos
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            yield (
                0,
                Rejection(cf.display, 0, f"file is damaged, the rest of it was not read: {exc}"),
            )
        if on_progress is not None:
            on_progress(max(0, cf.size - last))


def _decoded_lines(stream: IO[bytes]) -> Iterator[tuple[int, str, str]]:
    """(line number, text, error) per line; on a decoding error the text has U+FFFD in it."""
    for number, line in enumerate(stream, start=1):
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        try:
            yield number, line.decode("utf-8"), ""
        except UnicodeDecodeError as exc:
            yield (
                number,
                line.decode("utf-8", "replace"),
                _encoding_error(line, f"byte {exc.start + 1} of the line"),
            )


def _encoding_error(raw: bytes, where: str) -> str:
    message = f"not valid UTF-8 ({where})"
    try:
        if any(c in raw.decode("cp1252") for c in "äöüßÄÖÜ"):
            return (
                message
                + "; it looks like Latin-1/Windows-1252: convert with `iconv -f cp1252 -t utf-8`"
            )
    except UnicodeDecodeError:
        pass
    return message + "; save the file as UTF-8"


def _read_jsonl(cf: CorpusFile, stream: IO[bytes]) -> Iterator[Located]:
    for number, line, error in _decoded_lines(stream):
        raw = line.rstrip("\r\n")
        if error:
            yield number, Rejection(cf.display, number, error, raw)
            continue
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield (
                number,
                Rejection(cf.display, number, f"broken JSON: {exc.msg} at column {exc.colno}", raw),
            )
            continue
        except RecursionError:
            yield number, Rejection(cf.display, number, "broken JSON: nested too deeply", raw)
            continue
        if not isinstance(data, dict):
            yield (
                number,
                Rejection(
                    cf.display, number, f"expected a JSON object, got {_json_type(data)}", raw
                ),
            )
            continue
        yield number, article_from_mapping(data, f"{cf.relative}:{number}", cf.display, number, raw)


def _read_csv(cf: CorpusFile, stream: IO[bytes]) -> Iterator[Located]:
    bad_lines: dict[int, str] = {}

    def text_lines() -> Iterator[str]:
        for number, line, error in _decoded_lines(stream):
            if error:
                bad_lines[number] = error
            yield line

    reader = csv.reader(text_lines(), strict=True)
    header: list[str] | None = None
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num
            yield (
                start,
                Rejection(
                    cf.display, start, f"broken CSV: {exc}; the rest of the file was not read"
                ),
            )
            return
        end = reader.line_num
        bad = [n for n in range(start, end + 1) if n in bad_lines]
        if header is None:
            if bad:
                yield (
                    bad[0],
                    Rejection(cf.display, bad[0], f"header {bad_lines[bad[0]]}; no rows read"),
                )
                return
            header = [h.strip().lower() for h in row]
            if "text" not in header and "body" not in header:
                yield (
                    1,
                    Rejection(
                        cf.display, 1, "CSV header has no 'text' or 'body' column; no rows read"
                    ),
                )
                return
            continue
        raw = _csv_line(row)
        if bad:
            yield bad[0], Rejection(cf.display, bad[0], bad_lines[bad[0]], raw)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield (
                start,
                Rejection(
                    cf.display, start, f"{len(row)} columns but the header has {len(header)}", raw
                ),
            )
            continue
        data = {key: value for key, value in zip(header, row) if key and value.strip() != ""}
        yield start, article_from_mapping(data, f"{cf.relative}:{start}", cf.display, start, raw)


def _csv_line(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue().rstrip("\r\n")


def _read_text(cf: CorpusFile, stream: IO[bytes]) -> Iterator[Located]:
    raw = stream.read()
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        yield (
            line,
            Rejection(cf.display, line, _encoding_error(raw, f"column {exc.start - start + 1}")),
        )
        return
    lines = clean_text(text).splitlines()
    for index, line in enumerate(lines):
        if line.strip():
            title = line.strip()
            body = "\n".join(lines[index + 1 :]).strip()
            if not body:
                yield index + 1, Rejection(cf.display, index + 1, "no text after the title line")
                return
            yield index + 1, Article(id=cf.relative, title=title, text=body)
            return
    yield 1, Rejection(cf.display, 1, "empty file")


_CONTROL = dict.fromkeys([*range(9), 11, 12, *range(14, 32), 127], " ")
# str.translate looks up every character in Python; a regex scan first finds none much faster,
# and nearly every text has none
_HAS_CONTROL = re.compile("[" + "".join(map(chr, _CONTROL)) + "]").search


def clean_text(text: str) -> str:
    """Control characters (other than tab and newlines) become spaces: they only garble output."""
    return text.translate(_CONTROL) if _HAS_CONTROL(text) else text


def article_from_mapping(
    data: Mapping[str, Any], default_id: str, path: str, line: int, raw: str | None = None
) -> Record:
    """Validate one JSON/CSV record and turn it into an Article, or a Rejection saying why."""

    def reject(reason: str) -> Rejection:
        return Rejection(path, line, reason, raw)

    text = data.get("text")
    if text is None:
        text = data.get("body")
    if text is not None and not isinstance(text, str):
        return reject(f"'text' must be a string, got {_json_type(text)}")
    if not text or not text.strip():
        return reject("no text (a record needs a non-empty 'text' or 'body')")
    article_id = data.get("id")
    if article_id is None or article_id == "":
        article_id = default_id
    elif isinstance(article_id, bool) or not isinstance(article_id, (str, int)):
        return reject(f"'id' must be a string or number, got {_json_type(article_id)}")
    elif isinstance(article_id, str) and (problem := id_problem(article_id)):
        return reject(problem)
    values: dict[str, Any] = {}
    for key in _STRING_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            return reject(f"'{key}' must be a string, got {_json_type(value)}")
        values[key] = clean_text(value.strip()) if value and value.strip() else None
    date = data.get("date")
    if date is not None and date != "":
        if not isinstance(date, str):
            return reject(
                f"'date' must be an ISO 8601 date string, got {_json_type(date)} {date!r}"
            )
        try:
            values["date"] = parse_date(date)
        except ValueError:
            return reject(
                f"unparseable date {date!r} (expected ISO 8601 such as 2016-04-12 or 2016-04-12T13:47:17Z)"
            )
    known = {"id", "text", "body", "date", *_STRING_FIELDS}
    extra = {k: v for k, v in data.items() if k not in known}
    if "body" in data and data.get("text") is not None:
        extra["body"] = data["body"]
    return Article(
        id=clean_text(str(article_id)).strip(), text=clean_text(text.strip()), extra=extra, **values
    )


def id_problem(article_id: str) -> str:
    """Why a given id cannot identify an article (blank, control characters), or ""."""
    if not article_id.strip():
        return f"'id' {article_id!r} is blank: give each record a visible id"
    bad = _HAS_CONTROL(article_id) or re.search("[\t\n\r]", article_id.strip())
    if bad:
        return (
            f"'id' {article_id!r} contains the control character U+{ord(bad.group()):04X}: "
            "ids must be printable text"
        )
    return ""


def parse_date(value: str) -> dt.datetime:
    """Parse an ISO 8601 date or datetime; aware times are converted to naive UTC."""
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), "a number")
