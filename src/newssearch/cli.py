"""The ``newssearch`` command: a thin shell over :class:`NewsSearch` (options, printing, exit
codes)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import json
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from .api import (
    ENTITY_FIELDS,
    EXPORT_FIELDS,
    FACETS,
    INTERVALS,
    MARK,
    SHORT_TEXT_CHARS,
    SUFFIXES,
    NewsSearch,
    display_name,
    distinct,
    extract_entities,
    indexed_section,
    label_for,
)
from .api import analyze as analyze_text
from .api import classify as classify_text
from .config import SEARCH_FIELDS, SORTS, Config, load_config
from .errors import NewsSearchError, QueryError
from .models import IndexReport, Progress, SearchResult, iso, plural
from .version import __version__

MAX_LISTED_REJECTIONS = 20


class QuerySyntaxError(click.ClickException):
    """A malformed query: exit code 2, like other usage errors."""

    exit_code = 2


class NewsSearchGroup(click.Group):
    """Turns library errors into short messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QueryError as exc:
            raise QuerySyntaxError(str(exc)) from None
        except NewsSearchError as exc:
            raise click.ClickException(str(exc)) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command once, with its whole first sentence (wrapped, not cut at "...")."""
        rows = [
            (name, command.get_short_help_str(limit=200))
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=NewsSearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newssearch")
def cli() -> None:
    """Search German news articles: index a folder, then query it.

    \b
    Typical use:
      newssearch index                    (the corpus named in config.yaml)
      newssearch query "Putins Bündnis"
      newssearch serve                    (the same in a browser)
    """


def common_options(fn: Callable) -> Callable:
    """--config and --index, accepted by every command."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Config file to read (default: ./config.yaml if present, else built-in defaults).",
    )
    @click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Index folder to use, overriding the config's 'index' key.",
    )
    @functools.wraps(fn)
    def wrapper(config_path: Path | None, index_dir: Path | None, **kwargs: Any) -> Any:
        config = load_config(config_path)
        if index_dir is not None:
            config = config.replace(index=index_dir)
        return fn(config=config, **kwargs)

    return wrapper


def output_options(fn: Callable) -> Callable:
    """--json: machine-readable output instead of the terminal view."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object instead of text."
    )(fn)


def _read_text(file: Any) -> str:
    try:
        return file.read()
    except UnicodeDecodeError as exc:
        raise click.ClickException(
            f"{file.name} is not UTF-8 text ({exc.reason} at byte {exc.start}): convert it first"
        ) from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@cli.command()
@common_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--rebuild",
    is_flag=True,
    help="Start a fresh index; the old one stays live until the new one is complete.",
)
@click.option("--strict", is_flag=True, help="Stop at the first bad record instead of skipping it.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete indexed articles whose records are no longer in PATHS (removed files or lines). "
    "Give it the whole corpus: articles from paths not given are deleted too.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress bar and no list of rejected records."
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help=(
        "Write every rejected record, as read, with file, line and reason to this JSON Lines file."
    ),
)
@click.option(
    "--delimiter",
    metavar="CHAR",
    help="CSV delimiter, e.g. ';' or '\\t' (default: sniffed from each file's header line).",
)
@click.option(
    "--encoding",
    metavar="NAME",
    help="CSV encoding, e.g. latin-1 or cp1252 (default: UTF-8, or cp1252 when not UTF-8).",
)
@click.option("--force", is_flag=True, help="Let --rejects overwrite an existing file.")
@output_options
def index(
    config: Config,
    paths: tuple[Path, ...],
    rebuild: bool,
    strict: bool,
    prune: bool,
    quiet: bool,
    rejects: Path | None,
    delimiter: str | None,
    encoding: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Index PATHS (files or folders; default: the config's corpus) into the index folder.

    Reads .jsonl, .jsonl.gz, .csv, .txt, .md, web pages (.html), RSS/Atom feeds (.rss,
    .atom, .xml) and web archives (.warc, .warc.gz), recursively. Re-running updates
    changed records and skips unchanged ones. Bad records are reported with file and
    line and skipped; the summary accounts for every record read. A run that could index
    nothing exits with status 1.
    """
    if rejects is not None and not force and os.path.lexists(rejects):
        raise click.ClickException(
            f"{rejects} exists: choose another --rejects file, or add --force to overwrite it"
        )
    try:
        with (
            NewsSearch(config.index, config) as ns,
            _progress_bar(enabled=not quiet and not as_json) as progress,
        ):
            report = ns.index(
                list(paths) or None,
                rebuild=rebuild,
                strict=strict,
                progress=progress,
                prune=prune,
                delimiter=delimiter,
                encoding=encoding,
            )
    except KeyboardInterrupt:
        _interrupted(config, rebuild)
    if rejects is not None:
        try:
            report.write_rejects(rejects, force=force)
        except OSError as exc:
            raise click.ClickException(
                f"cannot write {rejects}: {exc.strerror or exc}; choose another --rejects file"
                + ("" if force else " or add --force")
            ) from None
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        _echo_json(report.to_dict())
        _fail_if_nothing_indexed(report)
        return
    if not quiet:
        for rejection in report.rejected[:MAX_LISTED_REJECTIONS]:
            click.echo(f"rejected {rejection}", err=True)
        more = len(report.rejected) - MAX_LISTED_REJECTIONS
        if more > 0:
            click.echo(
                f"... and {more:,} more rejected records (--rejects FILE writes them all)", err=True
            )
        # a skipped path with a reason in brackets (a FIFO, a link loop) is listed; of the
        # files of unknown type, one example
        unreadable = [s for s in report.skipped_files if s.endswith(")")]
        for entry in unreadable[:MAX_LISTED_REJECTIONS]:
            click.echo(f"skipped {entry}", err=True)
        unknown = [s for s in report.skipped_files if not s.endswith(")")]
        if unknown:
            click.echo(
                f"skipped {plural(len(unknown), 'file')} of unknown type, e.g. {unknown[0]}",
                err=True,
            )
    if report.pruned and not quiet:
        shown = ", ".join(report.pruned[:MAX_LISTED_REJECTIONS])
        more = len(report.pruned) - MAX_LISTED_REJECTIONS
        click.echo(
            f"pruned {shown}"
            + (f" ... and {more:,} more (--json lists them all)" if more > 0 else ""),
            err=True,
        )
    click.echo(report.summary())
    if report.entity_names:
        click.echo(report.entity_names)
    if report.topics:
        click.echo(
            "topics: "
            + ", ".join(f"{name} {count:,}" for name, count in report.topics.items())
            + (f" ({plural(report.retagged, 'article')} re-tagged)" if report.retagged else "")
        )
    _fail_if_nothing_indexed(report)


def _fail_if_nothing_indexed(report: IndexReport) -> None:
    """Exit 1 with the reason when a run read nothing it could index."""
    if report.added or report.updated or report.unchanged:
        return
    if report.rejected:
        reasons = Counter(_reason_kind(r.reason) for r in report.rejected)
        reason, n = reasons.most_common(1)[0]
        why = (
            f"all {plural(len(report.rejected), 'record')} read were rejected "
            f"({n:,} of them: {reason}); fix the input (--rejects FILE lists every record "
            "with its reason) or map its field names with 'fields:' in config.yaml"
        )
    elif report.files:
        why = f"the {plural(report.files, 'file')} given held no records"
    elif report.skipped_files:
        why = (
            f"no file of a readable type among {plural(len(report.skipped_files), 'path')} "
            f"(e.g. {report.skipped_files[0]}); readable: {', '.join(SUFFIXES)}"
        )
    else:
        why = "no files were found in the paths given"
    raise click.ClickException(f"nothing was indexed: {why}")


def _reason_kind(reason: str) -> str:
    """A rejection reason without the parts that differ per record (quoted values, numbers)."""
    return re.sub(r"'[^']*'|\d[\d,.]*", "…", reason).split(" (")[0]


def _interrupted(config: Config, rebuild: bool) -> None:
    """Say what Ctrl-C during indexing kept, and exit with 130 (as shells do for SIGINT)."""
    try:
        with NewsSearch(config.index, config) as ns:
            kept = ns.count()
    except NewsSearchError:
        kept = 0
    what = (
        f"the index in {config.index} is as before this run ({plural(kept, 'article')}): "
        "the rebuild is only switched in when complete"
        if rebuild and kept
        else f"the index in {config.index} keeps {plural(kept, 'article')}, as of the last "
        "batch committed before Ctrl-C"
    )
    click.echo(
        f"\nInterrupted: {what}. Run the same command again to go on: records already "
        "indexed and unchanged are skipped.",
        err=True,
    )
    raise SystemExit(130)


class _progress_bar:
    """A click progress bar on a terminal (stderr), nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._done = 0

    def __enter__(self) -> Callable[[Progress], None] | None:
        return self.update if self.enabled else None

    def update(self, progress: Progress) -> None:
        if self._bar is None:
            self._bar = click.progressbar(
                length=max(progress.bytes_total, 1),
                label="Indexing",
                file=sys.stderr,
                show_eta=True,
                item_show_func=lambda p: (
                    f"{p.records:,} records, {p.rate:,.0f}/s" if p is not None else ""
                ),
            )
            self._bar.__enter__()
        # the bar moves by bytes read, so its ETA holds for articles of any length
        self._bar.update(progress.bytes_done - self._done, progress)
        self._done = progress.bytes_done

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@cli.command()
@common_options
@click.argument("text")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 10_000),
    help="Hits per page (default: search.limit in config, 10).",
)
@click.option(
    "--page",
    "-p",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Which page of hits to show.",
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="relevance",
    show_default=True,
    help="Rank by relevance, or newest first (undated articles last).",
)
@click.option(
    "--fields",
    metavar="FIELD[,FIELD]",
    help=f"Search only these fields ({', '.join(SEARCH_FIELDS)}); default: title and body.",
)
@click.option(
    "--facets",
    "show_facets",
    is_flag=True,
    help="Count people, organisations, places, topics, sources and dates over all matches.",
)
@click.option(
    "--person",
    "persons",
    multiple=True,
    metavar="NAME",
    help="Only articles naming this person, e.g. 'Wladimir Putin' (repeatable: all of them).",
)
@click.option(
    "--org",
    "orgs",
    multiple=True,
    metavar="NAME",
    help="Only articles naming this organisation (repeatable: all of them).",
)
@click.option(
    "--place",
    "places",
    multiple=True,
    metavar="NAME",
    help="Only articles naming this place (repeatable: all of them).",
)
@click.option(
    "--topic",
    "topics",
    multiple=True,
    metavar="NAME",
    help=(
        "Only articles with this section or user topic, e.g. Wirtschaft, Medien (repeatable: "
        "all of them)."
    ),
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME",
    help="Only articles from this source (repeatable: any of them).",
)
@click.option(
    "--from",
    "date_from",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only articles dated on or after this day (YYYY-MM-DD).",
)
@click.option(
    "--to",
    "date_to",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only articles dated on or before this day (YYYY-MM-DD).",
)
@click.option(
    "--interval",
    type=click.Choice(INTERVALS),
    default="auto",
    show_default=True,
    help="Bucket size of the date facet; auto keeps the chart to a few lines.",
)
@click.option(
    "--csv",
    "export",
    flag_value="csv",
    help="Write ALL matches (not one page) as CSV, for other tools.",
)
@click.option(
    "--jsonl", "export", flag_value="jsonl", help="Write ALL matches (not one page) as JSON Lines."
)
@click.option(
    "--all-copies",
    is_flag=True,
    help="List every wire copy as a hit (default: one hit per story, with '+N copies').",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Stop at query slips (unpaired quote or bracket, dangling AND) instead of reading on.",
)
@output_options
def query(
    config: Config,
    text: str,
    limit: int | None,
    page: int,
    sort: str,
    fields: str | None,
    show_facets: bool,
    persons: tuple[str, ...],
    orgs: tuple[str, ...],
    places: tuple[str, ...],
    topics: tuple[str, ...],
    sources: tuple[str, ...],
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    interval: str,
    export: str | None,
    all_copies: bool,
    strict: bool,
    as_json: bool,
) -> None:
    """Search the index for TEXT.

    Plain words rank articles by how well they match (no operators needed). The Whoosh
    query language works too: AND, OR, NOT, "exact phrases", field:value (title, body,
    source, author, section, topic, person, org, place), date:2015-06 and
    date:[2015-01-01 to 2015-12-31]. Word* is a wildcard; a "?" ending a word is punctuation.
    Slips (an unpaired quote or bracket, a dangling AND) are read leniently with a note,
    unless --strict.
    """
    field_list = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    filters = {
        "source": list(sources),
        "topic": [label_for(t) for t in topics],
        "person": list(persons),
        "org": list(orgs),
        "place": list(places),
    }
    restrict: dict[str, Any] = {
        "filters": {k: v for k, v in filters.items() if v} or None,
        "date_from": date_from.date() if date_from else None,
        "date_to": date_to.date() if date_to else None,
    }
    with NewsSearch(config.index, config) as ns:
        if export:
            rows = ns.export(text, sort=sort, fields=field_list, strict=strict, **restrict)
            _write_export(rows, export)
            return
        result = ns.search(
            text,
            limit=limit,
            page=page,
            sort=sort,
            fields=field_list,
            facets=FACETS if show_facets else (),
            interval=interval,
            collapse=not all_copies,
            strict=strict,
            **restrict,
        )
        active = {k: v for k, v in filters.items() if v}
        notes = (
            _filter_notes(ns, text, active, field_list, {"from": date_from, "to": date_to})
            if result.total == 0 and (active or date_from or date_to)
            else []
        )
    if as_json:
        for note in notes:
            click.echo(note, err=True)
        _echo_json(result.to_dict())
    else:
        _print_result(result, notes)


def _write_export(rows: Iterable[dict], fmt: str) -> None:
    out = sys.stdout
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _width() -> int:
    """Columns to fill: the terminal's (COLUMNS when set), at least 40, at most 120."""
    return max(40, min(shutil.get_terminal_size((80, 24)).columns, 120))


def _wrap(text: str, first: str = "", rest: str | None = None, width: int | None = None) -> str:
    """``text`` wrapped to the terminal, ``**marks**`` kept and shown bold, not counted as width."""
    width = width or _width()
    rest = first if rest is None else rest
    lines: list[list[str]] = [[]]
    used = len(first)
    for word in text.split():
        shown = len(word.replace(MARK[0], ""))
        if lines[-1] and used + 1 + shown > width:
            lines.append([])
            used = len(rest)
        used += shown + (1 if lines[-1] else 0)
        lines[-1].append(word)
    out = [(first if i == 0 else rest) + " ".join(words) for i, words in enumerate(lines)]
    return "\n".join(_highlight(line) for line in out)


def _highlight(snippet: str) -> str:
    parts = snippet.split(MARK[0])
    out = [parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        out.append(click.style(part, bold=True) if i % 2 else part)
    return "".join(out)


ENTITY_HEADINGS = {"person": "People", "org": "Organisations", "place": "Places"}


def _print_facets(result: SearchResult) -> None:
    for facet, heading in ENTITY_HEADINGS.items():
        values = result.facets.get(facet)
        if values:
            listed = " · ".join(f"{name} ({count:,})" for name, count in values)
            click.echo(_wrap(listed, f"{heading}: ", "  "))
    topics = result.facets.get("topic")
    if topics:
        listed = " · ".join(f"{display_name(name)} ({count:,})" for name, count in topics)
        click.echo(_wrap(listed, "Topics: ", "  "))
    sources = result.facets.get("source")
    if sources:
        listed = " · ".join(f"{name} ({count:,})" for name, count in sources)
        click.echo(_wrap(listed, "Sources: ", "  "))
    dates = result.facets.get("date")
    if dates:
        widest = max(count for _, count in dates)
        label = max(len(bucket) for bucket, _ in dates)
        room = max(10, min(40, _width() - label - len(f"{widest:,}") - 5))
        click.echo("Dates:")
        for bucket, count in dates:
            bar = "█" * (max(1, round(room * count / widest)) if count else 0)
            click.echo(f"  {bucket:<{label}} {bar} {count:,}")


def _print_result(result: SearchResult, notes: Iterable[str] = ()) -> None:
    if result.notice:
        click.echo(_wrap(f"Note: {result.notice}", ""))
    if result.suggestion:
        click.echo(f"Did you mean: {click.style(result.suggestion, bold=True)}?")
    if result.total == 0:
        click.echo(_wrap(f"No articles match {result.query!r}."))
        for note in notes:
            click.echo(_wrap(note))
        return
    first, last = (
        (result.page - 1) * result.limit + 1,
        (result.page - 1) * result.limit + len(result.hits),
    )
    matches = (
        f"{plural(result.total, 'article')} match{'es' if result.total == 1 else ''} "
        f"{result.query!r}"
    )
    click.echo(
        _wrap(
            f"{matches}; showing {first}–{last} (page {result.page} of {result.pages})"
            if result.hits
            else f"{matches}; page {result.page} is past the last page ({result.pages})"
        )
    )
    _print_facets(result)
    for hit in result.hits:
        click.echo()
        score = f"score {hit.score:.2f}" if hit.score is not None else ""
        title = " ".join(f"{MARK[0]}{w}{MARK[1]}" for w in hit.title.split())
        click.echo(_wrap(title, f"{hit.rank:>3}. ", "     "))
        meta = " · ".join(
            x
            for x in (iso(hit.date), hit.source, *map(display_name, hit.topics), hit.id, score)
            if x
        )
        click.echo(_wrap(meta, "     "))
        if hit.snippet and hit.snippet != hit.title:  # a headline-only record has no snippet
            click.echo(_wrap(hit.snippet, "     "))
        if hit.copy_count:
            sources = sorted({s or "?" for _, s in hit.copies})
            more = " …" if hit.copy_count > len(hit.copies) else ""
            copies = plural(hit.copy_count, "copy").replace("copys", "copies")
            click.echo(_wrap(f"+{copies}: " + ", ".join(sources) + more, "     "))


def _filter_notes(
    ns: NewsSearch,
    text: str,
    filters: dict[str, list[str]],
    fields: list[str] | None,
    dates: dict[str, dt.datetime | None],
) -> list[str]:
    """Why a filtered search found nothing: a value no article has, or the filters together."""
    names = {"person": "person", "org": "organisation", "place": "place"}
    names |= {"topic": "topic", "source": "source"}
    notes = []
    for facet, values in filters.items():
        for value in values:
            if not ns.has_value(facet, value):
                closest = ns.closest_values(facet, value)
                hint = (
                    f"; did you mean {' or '.join(repr(c) for c in closest)}?"
                    if closest
                    else " (`newssearch entities` lists the names)"
                    if facet in names and facet not in ("topic", "source")
                    else ""
                )
                notes.append(f"warning: no article has the {names[facet]} {value!r}{hint}")
    if not notes:
        without = ns.search(text, limit=1, fields=fields).total
        given = " ".join(
            [f"--{f} {v!r}" for f, vs in filters.items() for v in vs]
            + [f"--{name} {day:%Y-%m-%d}" for name, day in dates.items() if day]
        )
        notes.append(
            f"The filters caused this: {plural(without, 'article')} match without {given}."
            if without
            else "No article matches even without the filters."
        )
    return notes


@cli.command()
@common_options
@click.argument("article_id", metavar="ID")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many related articles.",
)
@output_options
def similar(config: Config, article_id: str, limit: int, as_json: bool) -> None:
    """List articles related to the article with this ID (itself and near-copies left out)."""
    with NewsSearch(config.index, config) as ns:
        result = ns.similar(article_id, limit=limit)
    if as_json:
        _echo_json(result.to_dict())
    else:
        _print_result(result)


@cli.command()
@common_options
@click.argument("article_id", metavar="ID")
@output_options
def show(config: Config, article_id: str, as_json: bool) -> None:
    """Print the stored article with this ID (as shown in query results)."""
    with NewsSearch(config.index, config) as ns:
        article = ns.get(article_id)
    if article is None:
        raise click.ClickException(f"no article with id {article_id!r} in {config.index}")
    if as_json:
        _echo_json(article.to_dict())
        return
    click.echo(click.style(article.title or article.lead, bold=True))
    meta = " · ".join(
        x
        for x in (iso(article.date), article.source, article.author, article.section, article.url)
        if x
    )
    if meta:
        click.echo(meta)
    if article.text:  # empty for a headline-only record: the title is all there is
        click.echo()
        click.echo(article.text)


@cli.command()
@common_options
@click.option(
    "--top",
    "-n",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="How many stories.",
)
@output_options
def duplicates(config: Config, top: int, as_json: bool) -> None:
    """List the largest groups of wire copies (near-identical articles grouped at index time)."""
    with NewsSearch(config.index, config) as ns:
        groups = ns.duplicates(top=top)
    if as_json:
        _echo_json(
            [
                {
                    "story": group[0].id,
                    "articles": [
                        {"id": a.id, "title": a.title, "source": a.source, "date": iso(a.date)}
                        for a in group
                    ],
                }
                for group in groups
            ]
        )
        return
    if not groups:
        click.echo("no wire copies in the index: every article is a story of its own")
    for group in groups:
        first = group[0]
        click.echo(f"{len(group):>5} × {click.style(first.title or first.lead, bold=True)}")
        for a in group:
            meta = " · ".join(x for x in (iso(a.date), a.source, a.id) if x)
            click.echo(f"        {meta}")


@cli.command()
@common_options
@click.option(
    "--opensearch",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the OpenSearch/Elasticsearch index definition and bulk files to.",
)
@click.option("--name", default="newssearch", show_default=True, help="Target index name.")
@click.option(
    "--chunk",
    type=click.IntRange(1, 100_000),
    default=2_000,
    show_default=True,
    help="Articles per bulk file.",
)
def export(config: Config, directory: Path, name: str, chunk: int) -> None:
    """Export the index for OpenSearch/Elasticsearch: index.json, a word list, bulk NDJSON.

    \b
    Load it (see docs/ingest.md):
      copy DIR/analysis/ into each node's config folder, then
      curl -XPUT localhost:9200/NAME -H 'Content-Type: application/json' -d @DIR/index.json
      for f in DIR/bulk-*.ndjson; do curl -XPOST localhost:9200/_bulk \\
        -H 'Content-Type: application/x-ndjson' --data-binary @$f; done
    """
    with NewsSearch(config.index, config) as ns:
        report = ns.export_opensearch(directory, index_name=name, chunk_articles=chunk)
    click.echo(report.summary())


@cli.command()
@common_options
@click.argument("text")
def analyze(config: Config, text: str) -> None:
    """Print the index terms the German analyzer makes of TEXT (to check why something matches)."""
    click.echo(" ".join(analyze_text(text, config.analysis)))


@cli.command()
@common_options
@click.option(
    "--deep", is_flag=True, help="Also decode every term, posting, stored field and column value."
)
@output_options
def check(config: Config, deep: bool, as_json: bool) -> None:
    """Verify the index: checksums of its files, every segment, ids, the last complete run.

    Exits with status 1 when a problem is found.
    """
    with NewsSearch(config.index, config) as ns:
        report = ns.check(deep=deep)
    if as_json:
        _echo_json(dataclasses.asdict(report) | {"ok": report.ok})
    else:
        for problem in report.problems:
            click.echo(f"problem: {problem}", err=True)
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


@cli.command()
@common_options
@output_options
def optimize(config: Config, as_json: bool) -> None:
    """Merge the index's segments into one, for faster queries after many incremental runs.

    Safe to interrupt: until the merge is committed, the old segments stay live.
    """
    with NewsSearch(config.index, config) as ns:
        report = ns.optimize()
    if as_json:
        _echo_json(dataclasses.asdict(report))
    else:
        click.echo(report.summary())


@cli.command()
@common_options
@output_options
def retag(config: Config, as_json: bool) -> None:
    """Apply the user topics of the config (its 'topics:' section) to every indexed article.

    Reads no corpus: run it after adding, changing or removing a topic, or after editing the
    'entities:' section (aliases, kinds, names to hide). `newssearch index` does the same at
    the end of every run.
    """
    with NewsSearch(config.index, config) as ns:
        report = ns.retag()
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        _echo_json(
            {
                "topics": report.topics,
                "retagged": report.retagged,
                "documents": report.documents,
                "entity_names": report.entity_names,
            }
        )
        return
    for name, count in report.topics.items():
        click.echo(f"{name}: {plural(count, 'article')}")
    if not report.topics:
        click.echo("no user topics in the config (add a 'topics:' section, see the README)")
    click.echo(
        f"{plural(report.retagged, 'article')} re-tagged of {report.documents:,} "
        f"({report.seconds:.1f}s)"
    )
    if report.entity_names:
        click.echo(report.entity_names)


@cli.command()
@common_options
@click.argument("file", type=click.File("r", encoding="utf-8"))
@output_options
def classify(config: Config, file: Any, as_json: bool) -> None:
    """Print the sections the built-in classifier predicts for the text in FILE (- for stdin).

    The classifier is the same whatever the config says (--config and --index are accepted
    for uniformity and not used).
    """
    text = _read_text(file)
    topics = classify_text(text)
    if as_json:
        _echo_json(
            [{"label": t.label, "name": display_name(t.label), "score": t.score} for t in topics]
        )
        return
    for topic in topics:
        click.echo(
            f"{topic.score:+.3f}  {topic.label}"
            + (
                f" ({display_name(topic.label)})"
                if display_name(topic.label) != topic.label
                else ""
            )
        )
    section = indexed_section(text)
    if len(text) < SHORT_TEXT_CHARS:
        click.echo(
            f"indexed as: {display_name(section)} (a short text: the short-text model is sure)"
            if section
            else "indexed with no section (a short text the classifier is not sure of)"
        )


@cli.command()
@common_options
@click.option(
    "--label",
    "labels",
    multiple=True,
    type=click.Choice(["PER", "ORG", "LOC"], case_sensitive=False),
    help=(
        "Only this kind: PER people, ORG organisations, LOC places (repeatable; default: all "
        "three)."
    ),
)
@click.option(
    "--top",
    "-n",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="How many names per kind.",
)
@output_options
def entities(config: Config, labels: tuple[str, ...], top: int, as_json: bool) -> None:
    """List the people, organisations and places named in the most indexed articles."""
    wanted = [ENTITY_FIELDS[label.upper()] for label in labels] or list(ENTITY_FIELDS.values())
    with NewsSearch(config.index, config) as ns:
        counts = ns.entities(wanted, top=top)
    if as_json:
        _echo_json(
            {facet: [{"name": n, "articles": c} for n, c in counts[facet]] for facet in wanted}
        )
        return
    for facet in wanted:
        click.echo(f"{ENTITY_HEADINGS[facet]}:")
        for name, count in counts[facet]:
            click.echo(f"  {count:>7,}  {name}")
        if not counts[facet]:
            click.echo("  (none)")


@cli.command()
@common_options
@click.argument("file", type=click.File("r", encoding="utf-8"))
@output_options
def extract(config: Config, file: Any, as_json: bool) -> None:
    """Print the people (PER), organisations (ORG) and places (LOC) the tagger finds in FILE.

    FILE is plain text (- for stdin). Each mention is listed with its character offsets and
    the normalised name it is indexed and counted under; then the article's distinct names.
    """
    found = extract_entities(_read_text(file))
    if as_json:
        _echo_json(
            {
                "mentions": [dataclasses.asdict(e) for e in found],
                "entities": [{"label": label, "name": name} for label, name in distinct(found)],
            }
        )
        return
    for e in found:
        arrow = f"  -> {e.name}" if e.name != e.text else ""
        click.echo(f"{e.start:>7}-{e.end:<7} {e.label}  {e.text}{arrow}")
    click.echo()
    for label, name in distinct(found):
        click.echo(f"{label}  {name}")
    if not found:
        click.echo("no people, organisations or places found")


@cli.command()
@common_options
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but 127.0.0.1 lets other machines read the index.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="TCP port to listen on.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=None,
    help="Worker processes answering requests: more use more cores (each holds its own "
    "searchers in memory). Default: one per core, at most 4.",
)
def serve(config: Config, host: str, port: int, workers: int | None) -> None:
    """Serve the index read-only: search, articles and entities in a browser, and a JSON API."""
    from .web import LOCAL_HOSTS, create_app, default_workers
    from .web import serve as run_server

    workers = workers or default_workers()

    with NewsSearch(config.index, config) as ns:
        articles = ns.count()  # fails here, with the CLI's message, when there is no index
    app = create_app(config) if workers == 1 else None
    if app is not None:
        app.state.pool.warm()
    shown = f"[{host}]" if ":" in host else host
    if host not in LOCAL_HOSTS:
        click.secho(
            f"WARNING: listening on {host}, not on 127.0.0.1: every machine that can reach this "
            "one can read the whole index. There is no login. Use --host 127.0.0.1 unless that "
            "is what you want.",
            fg="red",
            bold=True,
            err=True,
        )
    click.echo(
        f"Serving {plural(articles, 'article')} from {config.index} (read-only).\n"
        f"Open http://{shown}:{port}/ in a browser "
        f"(JSON API: http://{shown}:{port}/api/search?q=...). Ctrl-C stops."
    )
    run_server(app, host=host, port=port, workers=workers, config=config)
