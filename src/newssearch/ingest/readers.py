"""Corpus readers: stream Articles (or Rejections naming file and line) from files and folders.

Supported: JSON Lines (``.jsonl``, ``.jsonl.gz``), CSV with a header (``.csv``) and plain text
(``.txt``, ``.md``: the first non-empty line is the title, the rest the body). Nothing is loaded
whole into memory except a single text file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import email.utils
import errno
import gzip
import html
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Any, cast

from ..errors import CorpusError
from ..models import Article, Rejection

Record = Article | Rejection
#: A record with the line it starts on.
Located = tuple[int, Record]

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
FEED_SUFFIXES = (".rss", ".atom", ".xml")
WARC_SUFFIXES = (".warc", ".warc.gz")
SUFFIXES = (
    ".jsonl",
    ".jsonl.gz",
    ".csv",
    *TEXT_SUFFIXES,
    *HTML_SUFFIXES,
    *FEED_SUFFIXES,
    *WARC_SUFFIXES,
)
_STRING_FIELDS = ("title", "source", "url", "author", "section")

#: Field names recognised without configuration (lower case), after our own name.
DEFAULT_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "text": ("content", "body", "article"),
    "title": ("headline",),
    "source": ("outlet", "publisher", "site"),
    "date": ("published", "pubdate"),
    "url": ("link",),
}
#: Fields a mapping may name (``fields:`` in config.yaml).
MAPPABLE_FIELDS = ("id", "text", *_STRING_FIELDS, "date")


@dataclass(frozen=True)
class ReadOptions:
    """How records are read: extra field names (``fields:``), CSV delimiter and encoding."""

    #: our field -> other names that mean it, tried in order after our own name
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None

    @cached_property
    def names(self) -> dict[str, tuple[str, ...]]:
        """Our field -> every name that means it, our own first, then configured, then defaults."""
        out = {}
        for name in MAPPABLE_FIELDS:
            extra = tuple(n.lower() for n in self.fields.get(name, ()))
            out[name] = tuple(dict.fromkeys((name, *extra, *DEFAULT_FIELD_NAMES.get(name, ()))))
        return out


DEFAULT_OPTIONS = ReadOptions()


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
    options: ReadOptions = DEFAULT_OPTIONS,
) -> Iterator[Record]:
    """Stream every record (or Rejection) under ``paths`` without indexing: to check inputs.

    ``on_progress(bytes)`` reports bytes consumed.
    """
    files, _ = discover(paths)
    for cf in files:
        for _, record in read_file(cf, on_progress, options):
            yield record


def read_file(
    cf: CorpusFile,
    on_progress: Callable[[int], None] | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
) -> Iterator[Located]:
    """Stream (line, record) for one file, reporting consumed bytes as it goes."""
    name = cf.path.name.lower()
    try:
        raw = open(cf.path, "rb")  # noqa: SIM115 (closed by the with below, after the checks)
    except OSError as exc:
        yield 0, Rejection(cf.display, 0, f"cannot open file: {exc.strerror or exc}")
        return
    with raw:
        last = 0
        records: Iterator[Located]
        if name.endswith(".jsonl.gz"):
            records = _read_jsonl(cf, cast(IO[bytes], gzip.GzipFile(fileobj=raw)), options)
        elif name.endswith(".jsonl"):
            records = _read_jsonl(cf, raw, options)
        elif name.endswith(".csv"):
            records = _read_csv(cf, raw, options)
        elif name.endswith(HTML_SUFFIXES):
            records = _read_html(cf, raw)
        elif name.endswith(FEED_SUFFIXES):
            records = _read_feed(cf, raw)
        elif name.endswith(WARC_SUFFIXES):
            records = _read_warc(cf, raw)
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


def _decoded_lines(stream: IO[bytes], encoding: str = "utf-8") -> Iterator[tuple[int, str, str]]:
    """(line number, text, error) per line; on a decoding error the text has U+FFFD in it."""
    for number, line in enumerate(stream, start=1):
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if encoding != "utf-8":
            try:
                yield number, line.decode(encoding), ""
            except UnicodeDecodeError as exc:
                yield (
                    number,
                    line.decode(encoding, "replace"),
                    f"not valid {encoding} (byte {exc.start + 1} of the line)",
                )
            continue
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


def _read_jsonl(
    cf: CorpusFile, stream: IO[bytes], options: ReadOptions = DEFAULT_OPTIONS
) -> Iterator[Located]:
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
        yield (
            number,
            article_from_mapping(data, f"{cf.relative}:{number}", cf.display, number, raw, options),
        )


#: Delimiters a CSV file's header line is tried with (the most frequent wins).
CSV_DELIMITERS = (",", ";", "\t", "|")


def sniff_encoding(sample: bytes) -> str:
    """ "utf-8" when ``sample`` (a file's start) is UTF-8, else "cp1252" (Windows Latin-1)."""
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # not just a character cut at the sample's end
            return "cp1252"
    return "utf-8"


def sniff_delimiter(header: str) -> str:
    """The delimiter the header line uses most (outside quotes); "," when none is there."""
    outside = re.sub(r'"[^"]*"', "", header)
    counts = {d: outside.count(d) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(
    cf: CorpusFile, stream: IO[bytes], options: ReadOptions = DEFAULT_OPTIONS
) -> Iterator[Located]:
    bad_lines: dict[int, str] = {}
    sample = stream.read(1 << 16)
    stream.seek(0)
    encoding = options.encoding or sniff_encoding(sample.removeprefix(codecs.BOM_UTF8))
    delimiter = options.delimiter or sniff_delimiter(
        sample.removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0].decode(encoding, "replace")
    )
    names = options.names

    def text_lines() -> Iterator[str]:
        for number, line, error in _decoded_lines(stream, encoding):
            if error:
                bad_lines[number] = error
            yield line

    reader = csv.reader(text_lines(), strict=True, delimiter=delimiter)
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
            if not set(header) & {*names["text"], *names["title"]}:
                shown = ", ".join(repr(h) for h in header[:4]) + (" ..." if len(header) > 4 else "")
                yield (
                    1,
                    Rejection(
                        cf.display,
                        1,
                        f"CSV header has no text or title column (read as {encoding} with "
                        f"delimiter {delimiter!r}, columns: {shown}); no rows read: set "
                        "--delimiter/--encoding, or name the columns with 'fields:' in config.yaml",
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
        data = {
            key: value
            for key, value in zip(header, row, strict=False)
            if key and value.strip() != ""
        }
        yield (
            start,
            article_from_mapping(data, f"{cf.relative}:{start}", cf.display, start, raw, options),
        )


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
    for index, first in enumerate(lines):
        if first.strip():
            title = first.strip()
            body = "\n".join(lines[index + 1 :]).strip()
            if not body:
                yield index + 1, Rejection(cf.display, index + 1, "no text after the title line")
                return
            yield index + 1, Article(id=cf.relative, title=title, text=body)
            return
    yield 1, Rejection(cf.display, 1, "empty file")


def html_article(html: bytes | str, article_id: str, url: str | None = None) -> Article | str:
    """The article of a web page (main text, title, date, author, site), or why there is none.

    trafilatura finds the main text and the metadata (date from the page's markup and text).
    """
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False
        )
    except Exception as exc:  # trafilatura/lxml raise assorted errors for broken markup
        return f"cannot read the HTML page: {type(exc).__name__}: {exc}"
    if doc is None:
        return "no article text found in the HTML page"
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = clean_text((data.get("text") or "").strip())
    title = clean_text((data.get("title") or "").strip()) or None
    if not text and not title:
        return "no article text or title found in the HTML page"
    if title and text.startswith(title + "\n"):  # the page's headline (h1) opens the text
        text = text[len(title) + 1 :].lstrip()
    date = None
    if data.get("date"):
        try:
            date = parse_date(data["date"])
        except ValueError:
            date = None
    return Article(
        id=article_id,
        text=text,
        title=title,
        date=date,
        source=(data.get("sitename") or data.get("hostname") or None),
        url=data.get("url") or url,
        author=(data.get("author") or None),
    )


def _read_html(cf: CorpusFile, stream: IO[bytes]) -> Iterator[Located]:
    found = html_article(stream.read(), cf.relative)
    if isinstance(found, str):
        yield 1, Rejection(cf.display, 1, found)
    else:
        yield 1, found


_TAG = re.compile(r"<[^>]+>")
_ITEM_START = re.compile(rb"<(?:\w+:)?(?:item|entry)[\s>]")


def _plain(html_text: str) -> str:
    """Text of an HTML fragment (a feed item's summary): tags out, entities resolved."""
    text = html.unescape(_TAG.sub(" ", html_text.replace("</p>", "\n\n")))
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())


def _read_feed(cf: CorpusFile, stream: IO[bytes]) -> Iterator[Located]:
    import feedparser

    data = stream.read()
    parsed = feedparser.parse(data)
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        yield (
            1,
            Rejection(
                cf.display,
                1,
                "not an RSS or Atom feed with items" + (f" ({problem})" if problem else ""),
            ),
        )
        return
    starts = [m.start() for m in _ITEM_START.finditer(data)]
    lines = (
        [data.count(b"\n", 0, pos) + 1 for pos in starts]
        if len(starts) == len(parsed.entries)
        else list(range(1, len(parsed.entries) + 1))
    )
    source = clean_text(parsed.feed.get("title", "").strip()) or None
    for line, entry in zip(lines, parsed.entries, strict=True):
        title = clean_text(_plain(entry.get("title") or "")) or None
        content = entry.get("content") or []
        body = content[0].get("value", "") if content else entry.get("summary", "")
        text = clean_text(_plain(body or ""))
        if not title and not text:
            yield line, Rejection(cf.display, line, "feed item has no title and no text")
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        date = dt.datetime(*stamp[:6]) if stamp else None
        if date is None and (entry.get("published") or entry.get("updated")):
            try:
                date = parse_date(entry.get("published") or entry.get("updated"))
            except ValueError:
                yield (
                    line,
                    Rejection(cf.display, line, f"unparseable date {entry.get('published')!r}"),
                )
                continue
        link = entry.get("link") or None
        yield (
            line,
            Article(
                id=str(entry.get("id") or link or f"{cf.relative}:{line}"),
                text=text,
                title=title,
                date=date,
                source=source,
                url=link,
                author=entry.get("author") or None,
            ),
        )


def _read_warc(cf: CorpusFile, stream: IO[bytes]) -> Iterator[Located]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    number = 0
    try:
        for number, record in enumerate(ArchiveIterator(stream), start=1):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            ctype = record.http_headers.get_header("Content-Type") or ""
            if "html" not in ctype.lower():
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI") or f"{cf.relative}#{number}"
            page = record.content_stream().read()
            missing = getattr(record.raw_stream, "limit", 0)  # what its length promised, unread
            if missing:
                yield (
                    number,
                    Rejection(
                        cf.display,
                        number,
                        f"WARC record {number} ({uri}) is cut short: the file ends {missing:,} "
                        "bytes before the record does (an interrupted download?); record skipped",
                    ),
                )
                continue
            found = html_article(page, uri, url=uri)
            if isinstance(found, str):
                yield (
                    number,
                    Rejection(cf.display, number, f"WARC record {number} ({uri}): {found}"),
                )
            else:
                yield number, found
    except ArchiveLoadFailed as exc:
        yield (
            number + 1,
            Rejection(
                cf.display,
                number + 1,
                f"WARC record {number + 1} is damaged, the rest was not read: {exc}",
            ),
        )


_CONTROL = dict.fromkeys([*range(9), 11, 12, *range(14, 32), 127], " ")
# str.translate looks up every character in Python; a regex scan first finds none much faster,
# and nearly every text has none
_HAS_CONTROL = re.compile("[" + "".join(map(chr, _CONTROL)) + "]").search


def clean_text(text: str) -> str:
    """Control characters (other than tab and newlines) become spaces: they only garble output."""
    return text.translate(_CONTROL) if _HAS_CONTROL(text) else text


def article_from_mapping(
    data: Mapping[str, Any],
    default_id: str,
    path: str,
    line: int,
    raw: str | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
) -> Record:
    """Validate one JSON/CSV record and turn it into an Article, or a Rejection saying why.

    Fields are found under our names or the names ``options`` maps to them (``outlet`` is the
    source); a record with a title and no text is a headline and has an empty text.
    """

    def reject(reason: str) -> Rejection:
        return Rejection(path, line, reason, raw)

    keys = {k.lower(): k for k in data if isinstance(k, str)}
    used: dict[str, str] = {}
    for name, candidates in options.names.items():
        for candidate in candidates:
            key = keys.get(candidate)
            if key is None:
                continue
            value = data[key]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            used[name] = key
            break
    text = data[used["text"]] if "text" in used else None
    if text is not None and not isinstance(text, str):
        return reject(f"'{used['text']}' must be a string, got {_json_type(text)}")
    article_id = data[used["id"]] if "id" in used else None
    if article_id is None:
        article_id = default_id
    elif isinstance(article_id, bool) or not isinstance(article_id, (str, int)):
        return reject(f"'{used['id']}' must be a string or number, got {_json_type(article_id)}")
    elif isinstance(article_id, str) and (problem := id_problem(article_id)):
        return reject(problem)
    values: dict[str, Any] = {}
    for name in _STRING_FIELDS:
        key = used.get(name)
        if key is None:
            values[name] = None
            continue
        value = data[key]
        if not isinstance(value, str):
            return reject(f"'{key}' must be a string, got {_json_type(value)}")
        values[name] = clean_text(value.strip())
    if text is None and values["title"] is None:
        return reject("no text (a record needs a non-empty 'text' or 'body', or a 'title')")
    if "date" in used:
        key = used["date"]
        date = data[key]
        if not isinstance(date, str):
            return reject(
                f"'{key}' must be an ISO 8601 date string, got {_json_type(date)} {date!r}"
            )
        try:
            values["date"] = parse_date(date)
        except ValueError:
            return reject(
                f"unparseable date {date!r} (expected ISO 8601 such as 2016-04-12 or "
                "2016-04-12T13:47:17Z, or German such as 12.10.2015 or 12. Oktober 2015)"
            )
    taken = set(used.values())
    extra = {k: v for k, v in data.items() if k not in taken and k not in _OWN_NAMES}
    if "body" in data and "body" not in taken and data.get("text") is not None:
        extra["body"] = data["body"]
    return Article(
        id=clean_text(str(article_id)).strip(),
        text=clean_text(text.strip()) if text is not None else "",
        extra=extra,
        **values,
    )


_OWN_NAMES = frozenset(MAPPABLE_FIELDS)


_MONTHS = {
    "januar": 1, "jänner": 1, "jan": 1, "februar": 2, "feber": 2, "feb": 2, "märz": 3,
    "maerz": 3, "mär": 3, "mrz": 3, "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6,
    "juli": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "okt": 10, "november": 11, "nov": 11, "dezember": 12, "dez": 12,
}  # fmt: skip
_TIME = r"(?:,?\s*(?:um\s+)?(\d{1,2})[:.](\d{2})(?::(\d{2}))?(?:\s*Uhr)?)?"
_GERMAN_NUMERIC = re.compile(r"(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4}|\d{2})" + _TIME + "$")
_GERMAN_WORDS = re.compile(
    r"(?:[A-Za-zäöü]+,?\s+)?(\d{1,2})\.?\s*([A-Za-zäÄ]+)\.?\s+(\d{4})" + _TIME + "$"
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
    """Parse a date: ISO 8601, German (12.10.2015, 12. Oktober 2015, with a time) or RFC 822.

    Aware times are converted to naive UTC.
    """
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        other = _german_date(value) or _rfc822_date(value)
        if other is None:
            raise ValueError(f"unparseable date {value!r}") from None
        parsed = other
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _german_date(value: str) -> dt.datetime | None:
    m = _GERMAN_NUMERIC.match(value)
    if m:
        month: int | None = int(m.group(2))
    else:
        m = _GERMAN_WORDS.match(value)
        if not m:
            return None
        month = _MONTHS.get(m.group(2).lower())
        if month is None:
            return None
    year = int(m.group(3))
    if year < 100:  # 12.10.15
        year += 2000 if year < 70 else 1900
    hour, minute, second = (int(g) if g else 0 for g in m.group(4, 5, 6))
    assert month is not None
    try:
        return dt.datetime(year, month, int(m.group(1)), hour, minute, second)
    except ValueError:
        return None


def _rfc822_date(value: str) -> dt.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), "a number")
