"""The web app: search page, article page, entity view and a JSON API over :class:`NewsSearch`.

Starlette routes, Jinja2 templates with autoescaping, no JavaScript needed. Read-only: every
route is a GET. Request values only ever reach the index as query/filter values, never a path.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import quote, quote_plus

from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api import EXPORT_FIELDS, INTERVALS, MARK, display_name, label_for
from ..config import Config
from ..errors import ArticleNotFoundError, IndexError_, NewsSearchError, QueryError
from ..models import Mention, SearchResult
from .charts import Bar, histogram, range_of
from .openapi import openapi_spec
from .pool import SearcherPool, ServerBusyError

#: Bounds on what one request may ask for.
MAX_QUERY_CHARS = 1_000
MAX_LIMIT = 100
MAX_PAGE = 1_000
MAX_FILTER_VALUES = 10
MAX_VALUE_CHARS = 200
MAX_EXPORT_ROWS = 10_000
MAX_TOP = 200

FILTER_FACETS = ("person", "org", "place", "topic", "source")
ENTITY_FACETS = ("person", "org", "place")
FACET_HEADINGS = {
    "person": "Personen",
    "org": "Organisationen",
    "place": "Orte",
    "topic": "Themen",
    "source": "Quellen",
}
FACET_SINGULAR = {
    "person": "Person",
    "org": "Organisation",
    "place": "Ort",
    "topic": "Thema",
    "source": "Quelle",
}
SORT_NAMES = {"relevance": "Relevanz", "date": "Datum (neueste zuerst)"}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; connect-src 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class ParameterError(QueryError):
    """A request parameter is missing, malformed or out of bounds."""


class NotFound(NewsSearchError):
    """The page or the thing it names does not exist."""


@dataclass
class SearchParams:
    """A search as the URL gives it: query, filters, dates, paging, sort."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = 1
    limit: int = 10
    sort: str = "relevance"
    # copies=all lists every wire copy as a hit; by default one hit per story
    all_copies: bool = False
    # strict=1: query slips are errors (400) instead of being read leniently with a notice
    strict: bool = False

    @property
    def query(self) -> str:
        """The query text to run: every article ("*") when the box is empty."""
        return self.q.strip() or "*"

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """The URL parameters, with ``changes`` applied (None removes a key)."""
        out: list[tuple[str, str]] = []
        values: dict[str, Any] = {
            "q": self.q,
            **{k: list(v) for k, v in self.filters.items()},
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "sort": self.sort if self.sort != "relevance" else None,
            "limit": self.limit if self.limit != 10 else None,
            "page": self.page if self.page != 1 else None,
            "copies": "all" if self.all_copies else None,
            "strict": "1" if self.strict else None,
        }
        values.update(changes)
        for name, default in (("page", 1), ("limit", 10), ("sort", "relevance")):
            if values[name] == default:
                values[name] = None  # defaults stay out of the URL: one URL per view
        for k, v in values.items():
            if v is None or v == "" or v == []:
                continue
            for item in v if isinstance(v, list) else [v]:
                out.append((k, str(item)))
        return out

    def url(self, path: str = "/", **changes: Any) -> str:
        """This search's URL with ``changes`` (paging back to 1 unless ``page`` is given)."""
        changes.setdefault("page", None)
        query = "&".join(_encoded(k, v) for k, v in self.pairs(**changes))
        return f"{path}?{query}" if query else path

    def add(self, facet: str, value: str) -> str:
        """The URL with one more filter value."""
        current = self.filters.get(facet, [])
        changes: dict[str, Any] = {facet: current if value in current else [*current, value]}
        return self.url(**changes)

    def remove(self, facet: str, value: str) -> str:
        """The URL without this filter value."""
        changes: dict[str, Any] = {facet: [v for v in self.filters.get(facet, []) if v != value]}
        return self.url(**changes)

    def active(self) -> list[tuple[str, str]]:
        """(facet, value) of every active filter, in facet order."""
        return [(f, v) for f in FILTER_FACETS for v in self.filters.get(f, [])]

    def api_filters(self) -> dict[str, Sequence[str]] | None:
        """The filters as :meth:`NewsSearch.search` takes them (topic display names mapped)."""
        out: dict[str, Sequence[str]] = {
            f: [label_for(v) for v in vs] if f == "topic" else list(vs)
            for f, vs in self.filters.items()
            if vs
        }
        return out or None


@functools.lru_cache(maxsize=8192)
def _encoded(key: str, value: str) -> str:
    """``key=value`` as urlencode writes it; a page repeats the same pairs in dozens of links."""
    return f"{quote_plus(key)}={quote_plus(value)}"


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParameterError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ParameterError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _date(params: Mapping[str, str], name: str) -> dt.date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ParameterError(
            f"{name} must be a date such as 2016-03-31 (YYYY-MM-DD), got {raw!r}"
        ) from None


def parse_params(request: Request) -> SearchParams:
    """The search the request's URL describes; :class:`ParameterError` when out of bounds."""
    params = request.query_params
    q = params.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        raise ParameterError(
            f"the query is {len(q):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
        )
    filters: dict[str, list[str]] = {}
    for facet in FILTER_FACETS:
        values = [v.strip() for v in params.getlist(facet) if v.strip()]
        if len(values) > MAX_FILTER_VALUES:
            raise ParameterError(f"at most {MAX_FILTER_VALUES} values of {facet} at once")
        if any(len(v) > MAX_VALUE_CHARS for v in values):
            raise ParameterError(f"a {facet} value is longer than {MAX_VALUE_CHARS} characters")
        if values:
            filters[facet] = list(dict.fromkeys(values))
    sort = params.get("sort") or "relevance"
    if sort not in SORT_NAMES:
        raise ParameterError(f"cannot sort by {sort!r}: choose from {', '.join(SORT_NAMES)}")
    date_from, date_to = _date(params, "from"), _date(params, "to")
    if date_from and date_to and date_from > date_to:
        raise ParameterError(f"from ({date_from}) is after to ({date_to}): swap them")
    return SearchParams(
        q=q,
        filters=filters,
        date_from=date_from,
        date_to=date_to,
        page=_int(params, "page", 1, 1, MAX_PAGE),
        limit=_int(params, "limit", 10, 1, MAX_LIMIT),
        sort=sort,
        all_copies=params.get("copies") == "all",
        strict=params.get("strict", "") in ("1", "true", "yes"),
    )


# -- rendering helpers ---------------------------------------------------------------------------


#: More months than this are shown as years.
MAX_MONTH_BARS = 72


def by_year(buckets: Sequence[tuple[str, int]]) -> Sequence[tuple[str, int]]:
    """Monthly (bucket, count) pairs summed per year when there are too many months for bars."""
    if len(buckets) <= MAX_MONTH_BARS or len(buckets[0][0]) != 7:
        return buckets
    years: dict[str, int] = {}
    for month, count in buckets:
        years[month[:4]] = years.get(month[:4], 0) + count
    return tuple(years.items())


def marked(snippet: str) -> Markup:
    """A snippet with the search's ``**match**`` marks as <mark>, everything else escaped."""
    parts = snippet.split(MARK[0])
    out = [escape(parts[0])]
    for i, part in enumerate(parts[1:], start=1):
        out.append(Markup("<mark>%s</mark>") % part if i % 2 else escape(part))
    return Markup("").join(out)


def entity_url(facet: str, name: str) -> str:
    """The entity view of a person, organisation or place."""
    return f"/entities/{facet}/{quote(name, safe='')}"


def linked_text(text: str, mentions: Sequence[Mention]) -> Markup:
    """The article text as paragraphs, each mention of an indexed entity a link to its view."""
    pieces: list[Markup] = []
    pos = 0
    for m in sorted(mentions, key=lambda m: m.start):
        if m.start < pos:
            continue  # overlapping mention: the first one wins
        pieces.append(escape(text[pos : m.start]))
        pieces.append(
            Markup('<a class="ent ent-%s" href="%s" title="%s: %s">%s</a>')
            % (
                m.facet,
                entity_url(m.facet, m.name),
                FACET_SINGULAR[m.facet],
                m.name,
                text[m.start : m.end],
            )
        )
        pos = m.end
    pieces.append(escape(text[pos:]))
    html = str(Markup("").join(pieces))
    paragraphs = [p.strip() for p in html.replace("\r\n", "\n").split("\n") if p.strip()]
    return Markup("".join(f"<p>{p}</p>" for p in paragraphs))


def web_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) address, else None (no javascript: links from article data)."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def german_number(n: int) -> str:
    """1.234.567 (German thousands separators)."""
    return f"{n:,}".replace(",", ".")


def german_date(value: dt.datetime | dt.date | None) -> str:
    """31.03.2016, or "" without a date."""
    return value.strftime("%d.%m.%Y") if value else ""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("newssearch.web", "templates"),
        # the package's templates do not change while serving: no stat() per page and template
        auto_reload=False,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        marked=marked, num=german_number, gdate=german_date, topic=display_name, web_url=web_url
    )
    env.globals.update(
        entity_url=entity_url,
        headings=FACET_HEADINGS,
        singular=FACET_SINGULAR,
        sort_names=SORT_NAMES,
        entity_facets=ENTITY_FACETS,
    )
    return env


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The stylesheet and script, read once from the package: no request path reaches the disk."""
    types = {
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".svg": "image/svg+xml",
    }
    folder = resources.files("newssearch.web").joinpath("static")
    return {
        item.name: (item.read_bytes(), types[item.name[item.name.rfind(".") :]])
        for item in folder.iterdir()
        if item.name[item.name.rfind(".") :] in types
    }


class SecurityHeaders:
    """Adds the Content Security Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- the app -------------------------------------------------------------------------------------


def status_of(exc: Exception) -> int:
    """The HTTP status an error stands for."""
    if isinstance(exc, ArticleNotFoundError | NotFound):
        return 404
    if isinstance(exc, ServerBusyError | IndexError_):
        return 503
    if isinstance(exc, QueryError):
        return 400
    return 500


def inline(view: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """``view`` run on the event loop's own thread: one request at a time per server process.

    The work is pure Python, so threads of one process take turns on the interpreter lock
    anyway; handing each request to a worker thread and back only added switches and lock
    contention. More processes (``serve --workers``) use more cores.
    """

    async def run(request: Request) -> Response:
        return view(request)

    return run


def _closing(pool: SearcherPool) -> Callable[[Starlette], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        pool.close()

    return lifespan


def create_app(config: Config, pool_size: int = 2) -> Starlette:
    """The ASGI app serving ``config``'s index (read-only).

    Pages and API calls run one at a time on the event loop (:func:`inline`); exports, which
    can take long, run in Starlette's thread pool. ``pool_size`` NewsSearch instances serve both.
    """
    pool = SearcherPool(config, size=pool_size)
    # exports (in threads) hold at most all but one instance: a page, on the event loop, never
    # waits for one (which would hold up the loop)
    exporting = threading.BoundedSemaphore(max(1, pool_size - 1))
    env = _environment()
    static = _static_files()

    def page(name: str, code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=code)

    def html_errors(view: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def wrapped(request: Request) -> Response:
            try:
                return view(request)
            except NewsSearchError as exc:
                status = status_of(exc)
                return page(
                    "error.html",
                    status,
                    status=status,
                    message=str(exc),
                    q=request.query_params.get("q", ""),
                )

        return wrapped

    def json_errors(view: Callable[[Request], Any]) -> Callable[[Request], Response]:
        def wrapped(request: Request) -> Response:
            try:
                data = view(request)
            except NewsSearchError as exc:
                status = status_of(exc)
                return JSONResponse({"error": {"status": status, "message": str(exc)}}, status)
            return JSONResponse(data)

        return wrapped

    def run_search(
        ns: Any, params: SearchParams, facets: Sequence[str], interval: str = "month"
    ) -> SearchResult:
        return ns.search(
            params.query,
            limit=params.limit,
            page=params.page,
            sort=params.sort,
            facets=facets,
            filters=params.api_filters(),
            date_from=params.date_from,
            date_to=params.date_to,
            interval=interval,
            collapse=not params.all_copies,
            strict=params.strict,
        )

    @html_errors
    def search_page(request: Request) -> Response:
        params = parse_params(request)
        with pool.lease() as ns:
            result = run_search(ns, params, (*FILTER_FACETS, "date"))
            # the terms of the query as the search read it (a slip is read leniently, not a 400)
            terms = result.terms if params.q.strip() else ()
            dates = result.facets.get("date", ())
            if 0 < len(dates) <= 2:  # a month or two: one bar per day
                dates = run_search(ns, params, ("date",), "day").facets.get("date", ())
            unknown = []
            if result.total == 0:
                for facet, value in params.active():
                    checked = label_for(value) if facet == "topic" else value
                    if not ns.has_value(facet, checked):
                        unknown.append((facet, value, ns.closest_values(facet, checked)))
        bars = histogram(
            by_year(dates),
            lambda start, end: params.url(**{"from": start.isoformat(), "to": end.isoformat()}),
        )
        return page(
            "search.html",
            p=params,
            q=params.q,
            result=result,
            bars=bars,
            unknown=unknown,
            terms=terms,
            first=(result.page - 1) * result.limit + 1,
            last=(result.page - 1) * result.limit + len(result.hits),
        )

    @html_errors
    def article_page(request: Request) -> Response:
        article_id = request.path_params["id"]
        with pool.lease() as ns:
            details = ns.details(article_id)
            if details is None:
                raise ArticleNotFoundError(
                    f"no article with id {article_id!r}: check the id in the search results"
                )
            similar = ns.similar(article_id, limit=8)
        return page(
            "article.html",
            d=details,
            a=details.article,
            text=linked_text(details.article.text, details.mentions),
            similar=similar,
            q="",
        )

    def _entity_args(request: Request) -> tuple[str, str]:
        facet, name = request.path_params["facet"], request.path_params["name"].strip()
        if facet not in ENTITY_FACETS:
            raise NotFound(f"unknown kind {facet!r}: use person, org or place")
        if not name or len(name) > MAX_VALUE_CHARS:
            raise ParameterError(f"the name must have 1 to {MAX_VALUE_CHARS} characters")
        return facet, name

    @html_errors
    def entity_page(request: Request) -> Response:
        facet, name = _entity_args(request)
        with pool.lease() as ns:
            profile = ns.entity(facet, name, interval="month")
            closest = ns.closest_values(facet, name) if profile.articles == 0 else []
        if profile.articles == 0:
            hint = f" Meinten Sie: {', '.join(closest)}?" if closest else ""
            raise NotFound(f"{FACET_SINGULAR[facet]} „{name}“ kommt in keinem Artikel vor.{hint}")
        params = SearchParams(filters={facet: [profile.name]}, sort="date")
        bars = histogram(
            by_year(profile.timeline),
            lambda start, end: params.url(**{"from": start.isoformat(), "to": end.isoformat()}),
        )
        return page("entity.html", e=profile, p=params, bars=bars, q="")

    @html_errors
    def export(request: Request) -> Response:
        params = parse_params(request)
        fmt = request.query_params.get("format", "csv")
        if fmt not in ("csv", "jsonl"):
            raise ParameterError(f"format must be csv or jsonl, got {fmt!r}")
        rows: list[dict] = []
        with exporting, pool.lease() as ns:
            for row in ns.export(
                params.query,
                sort=params.sort,
                filters=params.api_filters(),
                date_from=params.date_from,
                date_to=params.date_to,
            ):
                if len(rows) == MAX_EXPORT_ROWS:
                    break
                rows.append(row)
        out = io.StringIO()
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        return Response(
            out.getvalue(),
            media_type=f"{media}; charset=utf-8",
            headers={
                "content-disposition": f'attachment; filename="newssearch.{fmt}"',
                "x-newssearch-rows": str(len(rows)),
                "x-newssearch-limit": str(MAX_EXPORT_ROWS),
            },
        )

    def static_file(request: Request) -> Response:
        found = static.get(request.path_params["name"])
        if found is None:
            return Response("not found", 404, media_type="text/plain")
        return Response(found[0], media_type=found[1], headers={"cache-control": "max-age=3600"})

    # -- JSON API --

    @json_errors
    def api_search(request: Request) -> Any:
        params = parse_params(request)
        raw = request.query_params.get("facets", "")
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if names == ["all"]:
            names = [*FILTER_FACETS, "date"]
        interval = request.query_params.get("interval") or "auto"
        if interval not in INTERVALS:
            raise ParameterError(
                f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}"
            )
        with pool.lease() as ns:
            return run_search(ns, params, names, interval).to_dict()

    @json_errors
    def api_article(request: Request) -> Any:
        article_id = request.path_params["id"]
        with pool.lease() as ns:
            details = ns.details(article_id)
        if details is None:
            raise ArticleNotFoundError(
                f"no article with id {article_id!r}: check the id in query results"
            )
        return details.to_dict()

    @json_errors
    def api_similar(request: Request) -> Any:
        limit = _int(request.query_params, "limit", 10, 1, MAX_LIMIT)
        with pool.lease() as ns:
            return ns.similar(request.path_params["id"], limit=limit).to_dict()

    @json_errors
    def api_entities(request: Request) -> Any:
        label = request.query_params.get("label", "")
        labels = {"PER": "person", "ORG": "org", "LOC": "place"}
        wanted = [labels.get(x.strip().upper(), x.strip()) for x in label.split(",") if x.strip()]
        unknown = [w for w in wanted if w not in ENTITY_FACETS]
        if unknown:
            raise ParameterError(
                f"unknown label {unknown[0]!r}: choose from PER, ORG, LOC (or person, org, place)"
            )
        top = _int(request.query_params, "top", 20, 1, MAX_TOP)
        with pool.lease() as ns:
            counts = ns.entities(wanted or list(ENTITY_FACETS), top=top)
        return {
            facet: [{"name": n, "articles": c} for n, c in values]
            for facet, values in counts.items()
        }

    @json_errors
    def api_entity(request: Request) -> Any:
        facet, name = _entity_args(request)
        top = _int(request.query_params, "top", 10, 1, 10)
        with pool.lease() as ns:
            profile = ns.entity(facet, name, top=top)
        if profile.articles == 0:
            raise NotFound(f"no article names the {facet} {name!r}")
        return profile.to_dict()

    def api_openapi(request: Request) -> Response:
        return JSONResponse(openapi_spec())

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = exc.detail if isinstance(exc, HTTPException) else "internal error"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"status": status, "message": message}}, status)
        html = env.get_template("error.html").render(status=status, message=message, q="")
        return HTMLResponse(html, status_code=status)

    routes = [
        Route("/", inline(search_page)),
        Route("/articles/{id:path}", inline(article_page)),
        Route("/entities/{facet}/{name:path}", inline(entity_page)),
        Route("/export", export),  # up to MAX_EXPORT_ROWS rows: in a thread, not on the loop
        Route("/static/{name}", inline(static_file)),
        Route("/api/search", inline(api_search)),
        Route("/api/articles/{id:path}/similar", inline(api_similar)),
        Route("/api/articles/{id:path}", inline(api_article)),
        Route("/api/entities", inline(api_entities)),
        Route("/api/entities/{facet}/{name:path}", inline(api_entity)),
        Route("/api/openapi.json", inline(api_openapi)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: not_found},
        lifespan=_closing(pool),
    )
    app.state.pool = pool
    return app


__all__ = ["Bar", "create_app", "range_of"]
