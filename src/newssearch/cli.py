"""The ``newssearch`` command: a thin shell over :class:`NewsSearch` (options, printing, exit codes)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import json
import os
import sys
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
    NewsSearch,
    display_name,
    distinct,
    extract_entities,
    label_for,
)
from .api import analyze as analyze_text
from .api import classify as classify_text
from .config import SEARCH_FIELDS, SORTS, Config, load_config
from .errors import NewsSearchError, QueryError
from .models import Progress, SearchResult, iso, plural
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


@click.group(cls=NewsSearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newssearch")
def cli() -> None:
    """Search German news articles: index a folder, then query it.

    \b
    newssearch index                  index the corpus named in config.yaml
    newssearch query "Putins Bündnis"  ranked search with snippets
    newssearch similar ID             articles related to one article
    newssearch show ID                print one stored article
    newssearch check                  verify the index
    newssearch optimize               merge the index's segments (faster queries)
    newssearch retag                  apply edited user topics (config.yaml) to the index
    newssearch classify FILE          the section the built-in classifier gives a text
    newssearch entities               the people, organisations and places the index names most
    newssearch extract FILE           the entities the built-in tagger finds in a text
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
        )


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
    help="Write every rejected record, as read, with file, line and reason to this JSON Lines file.",
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
    force: bool,
    as_json: bool,
) -> None:
    """Index PATHS (files or folders; default: the config's corpus) into the index folder.

    Reads .jsonl, .jsonl.gz, .csv, .txt and .md files, recursively. Re-running updates
    changed records and skips unchanged ones. Bad records are reported with file and
    line and skipped; the summary accounts for every record read.
    """
    if rejects is not None and not force and os.path.lexists(rejects):
        raise click.ClickException(
            f"{rejects} exists: choose another --rejects file, or add --force to overwrite it"
        )
    with NewsSearch(config.index, config) as ns:
        with _progress_bar(enabled=not quiet and not as_json) as progress:
            report = ns.index(
                list(paths) or None, rebuild=rebuild, strict=strict, progress=progress, prune=prune
            )
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
    if report.topics:
        click.echo(
            "topics: "
            + ", ".join(f"{name} {count:,}" for name, count in report.topics.items())
            + (f" ({plural(report.retagged, 'article')} re-tagged)" if report.retagged else "")
        )


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
    help="Only articles with this section or user topic, e.g. Wirtschaft, Medien (repeatable: all of them).",
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
    default="month",
    show_default=True,
    help="Bucket size of the date facet.",
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
    as_json: bool,
) -> None:
    """Search the index for TEXT.

    Plain words rank articles by how well they match (no operators needed). The Whoosh
    query language works too: AND, OR, NOT, "exact phrases", field:value (title, body,
    source, author, section, topic, person, org, place), date:2015-06 and
    date:[2015-01-01 to 2015-12-31].
    """
    field_list = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    filters = {
        "source": list(sources),
        "topic": [label_for(t) for t in topics],
        "person": list(persons),
        "org": list(orgs),
        "place": list(places),
    }
    restrict = {
        "filters": {k: v for k, v in filters.items() if v} or None,
        "date_from": date_from.date() if date_from else None,
        "date_to": date_to.date() if date_to else None,
    }
    with NewsSearch(config.index, config) as ns:
        if export:
            _write_export(ns.export(text, sort=sort, fields=field_list, **restrict), export)
            return
        result = ns.search(
            text,
            limit=limit,
            page=page,
            sort=sort,
            fields=field_list,
            facets=FACETS if show_facets else (),
            interval=interval,
            **restrict,
        )
    if as_json:
        _echo_json(result.to_dict())
    else:
        _print_result(result)


def _write_export(rows: Iterable[dict], fmt: str) -> None:
    out = sys.stdout
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


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
            click.echo(f"{heading}: " + " · ".join(f"{name} ({count:,})" for name, count in values))
    topics = result.facets.get("topic")
    if topics:
        click.echo(
            "Topics: " + " · ".join(f"{display_name(name)} ({count:,})" for name, count in topics)
        )
    sources = result.facets.get("source")
    if sources:
        click.echo("Sources: " + " · ".join(f"{name} ({count:,})" for name, count in sources))
    dates = result.facets.get("date")
    if dates:
        widest = max(count for _, count in dates)
        click.echo("Dates:")
        for bucket, count in dates:
            bar = "█" * (max(1, round(30 * count / widest)) if count else 0)
            click.echo(f"  {bucket:<10} {bar} {count:,}")


def _print_result(result: SearchResult) -> None:
    if result.suggestion:
        click.echo(f"Did you mean: {click.style(result.suggestion, bold=True)}?")
    if result.total == 0:
        click.echo(f"No articles match {result.query!r}.")
        return
    first, last = (
        (result.page - 1) * result.limit + 1,
        (result.page - 1) * result.limit + len(result.hits),
    )
    matches = f"{plural(result.total, 'article')} match{'es' if result.total == 1 else ''} {result.query!r}"
    click.echo(
        f"{matches}; showing {first}–{last} (page {result.page} of {result.pages})"
        if result.hits
        else f"{matches}; page {result.page} is past the last page ({result.pages})"
    )
    _print_facets(result)
    for hit in result.hits:
        click.echo()
        score = f"  score {hit.score:.2f}" if hit.score is not None else ""
        click.echo(f"{hit.rank:>3}. {click.style(hit.title, bold=True)}{score}")
        meta = " · ".join(
            x for x in (iso(hit.date), hit.source, *map(display_name, hit.topics), hit.id) if x
        )
        click.echo(f"     {meta}")
        if hit.snippet != hit.title:
            click.echo(f"     {_highlight(hit.snippet)}")


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
    click.echo()
    click.echo(article.text)


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

    Reads no corpus: run it after adding, changing or removing a topic. `newssearch index`
    does the same at the end of every run.
    """
    with NewsSearch(config.index, config) as ns:
        report = ns.retag()
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        _echo_json(
            {"topics": report.topics, "retagged": report.retagged, "documents": report.documents}
        )
        return
    for name, count in report.topics.items():
        click.echo(f"{name}: {plural(count, 'article')}")
    if not report.topics:
        click.echo("no user topics in the config (add a 'topics:' section, see the README)")
    click.echo(
        f"{plural(report.retagged, 'article')} re-tagged of {report.documents:,} ({report.seconds:.1f}s)"
    )


@cli.command()
@common_options
@click.argument("file", type=click.File("r", encoding="utf-8"))
@output_options
def classify(config: Config, file: Any, as_json: bool) -> None:
    """Print the sections the built-in classifier predicts for the text in FILE (- for stdin).

    The classifier is the same whatever the config says (--config and --index are accepted
    for uniformity and not used).
    """
    topics = classify_text(_read_text(file))
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


@cli.command()
@common_options
@click.option(
    "--label",
    "labels",
    multiple=True,
    type=click.Choice(["PER", "ORG", "LOC"], case_sensitive=False),
    help="Only this kind: PER people, ORG organisations, LOC places (repeatable; default: all three).",
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
