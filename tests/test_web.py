"""The web app over real HTTP: every endpoint, bad parameters, escaping, reindex under load."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import Config, NewsSearch
from newssearch.cli import cli
from newssearch.web import app as web_app
from newssearch.web.charts import histogram, range_of
from newssearch.web.pool import SearcherPool
from tests.conftest import REPO, write_jsonl
from tests.webserver import (
    WEB_CONFIG_YAML,
    XSS_TITLE,
    free_port,
    get,
    get_json,
    running_server,
    web_config,
    web_corpus,
)


def q(**params: object) -> str:
    """URL query string (lists repeat the key)."""
    return urllib.parse.urlencode(params, doseq=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """(base URL, config) of a server over a fresh index of the web corpus."""
    root = tmp_path_factory.mktemp("web")
    config = web_config(root / "index")
    corpus = write_jsonl(root / "corpus" / "web.jsonl", web_corpus())
    with NewsSearch(config.index, config) as ns:
        ns.index([corpus])
    with running_server(config) as base:
        yield base, config


# -- pages -----------------------------------------------------------------------------------------


def test_search_page_shows_hits_facets_histogram_and_links(site):
    base, _ = site
    status, headers, body = get(f"{base}/?{q(q='Gipfel Merkel')}")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert 'value="Gipfel Merkel"' in body  # the query stays in the box
    assert re.search(r"\d+ Treffer", body)
    assert "<mark>" in body  # highlighted snippet words
    assert "Gesucht nach: <code>gipfel</code> · <code>merkel</code>" in body  # how it was read
    assert 'href="/articles/g' in body
    # facet links add a filter; person facet values also link their entity view
    assert "/?q=Gipfel+Merkel&amp;person=Angela+Merkel" in body
    assert 'href="/entities/person/Angela%20Merkel"' in body
    for heading in ("Personen", "Orte", "Quellen"):
        assert heading in body
    # the histogram: one SVG bar link per bucket, narrowing to its dates
    assert "<svg" in body and re.search(r"from=\d{4}-\d\d-\d\d&amp;to=\d{4}-\d\d-\d\d", body)
    assert "/export?q=Gipfel+Merkel&amp;format=csv" in body


def test_filters_show_as_removable_chips_and_narrow_the_hits(site):
    base, _ = site
    _, _, unfiltered = get(f"{base}/?{q(q='Gipfel')}")
    status, _, body = get(f"{base}/?{q(q='Gipfel', person='Xi Jinping', **{'from': '2015-06-01'})}")
    assert status == 200
    assert "Person: Xi Jinping" in body and "Zeitraum: 01.06.2015" in body
    assert 'href="/?q=Gipfel&amp;from=2015-06-01"' in body  # removing the person chip
    total = int(re.search(r"([\d.]+) Treffer", body).group(1).replace(".", ""))
    all_hits = int(re.search(r"([\d.]+) Treffer", unfiltered).group(1).replace(".", ""))
    assert 0 < total < all_hits
    _, data = get_json(f"{base}/api/search?{q(q='Gipfel', person='Xi Jinping', limit=100)}")
    assert all("Xi Jinping" in hit["entities"]["person"] for hit in data["hits"])


def test_pagination_and_sort_by_date(site):
    base, _ = site
    _, _, page1 = get(f"{base}/?{q(q='Treffen', sort='date', copies='all')}")
    assert 'rel="next" href="/?q=Treffen&amp;sort=date&amp;page=2&amp;copies=all"' in page1
    _, _, page2 = get(f"{base}/?{q(q='Treffen', sort='date', page=2, copies='all')}")
    assert 'rel="prev"' in page2 and "Seite 2 von" in page2
    ids1 = re.findall(r'href="/articles/([^"]+)"', page1)
    ids2 = re.findall(r'href="/articles/([^"]+)"', page2)
    assert ids1 and ids2 and not set(ids1) & set(ids2)
    _, data = get_json(f"{base}/api/search?{q(q='Treffen', sort='date', limit=50)}")
    dates = [hit["date"] for hit in data["hits"] if hit["date"]]
    assert dates == sorted(dates, reverse=True)


def test_did_you_mean_and_unknown_facet_value(site):
    base, _ = site
    _, _, body = get(f"{base}/?{q(q='Gipfle')}")
    assert "Meinten Sie" in body and "Gipfel" in body
    _, _, body = get(f"{base}/?{q(q='Gipfel', person='Merkl')}")
    assert "Keine Treffer" in body
    assert "Person „Merkl“ kommt in keinem Artikel vor" in body
    assert "person=Angela+Merkel" in body  # the suggestion replaces the unknown value
    _, _, body = get(f"{base}/?{q(q='Gipfel', person='Xi Jinping', place='Paris')}")
    if "Keine Treffer" in body:  # both known, no article with both: the filters are the cause
        assert "Die Filter schließen alle Treffer aus" in body


def test_article_page_links_entities_and_similar_articles(site):
    base, _ = site
    status, _, body = get(f"{base}/articles/g01")
    assert status == 200
    assert re.search(r'<a class="ent ent-person" href="/entities/person/[^"]+"', body)
    assert 'class="ent ent-place"' in body
    assert "Ähnliche Artikel" in body and 'class="similar-link" href="/articles/g' in body
    assert 'href="https://example.org/artikel/1"' in body
    assert "/?source=" in body


def test_entity_view_counts_over_time_and_co_occurring_names(site):
    base, _ = site
    status, _, body = get(f"{base}/entities/person/{urllib.parse.quote('angela merkel')}")
    assert status == 200
    assert "<h1>Angela Merkel</h1>" in body  # any spelling finds the indexed name
    assert "<svg" in body and "Personen mit Angela Merkel" in body
    status, data = get_json(f"{base}/api/entities/person/{urllib.parse.quote('Angela Merkel')}")
    assert status == 200 and data["articles"] > 1
    assert sum(count for _, count in data["timeline"]) == data["articles"]
    together = [name for name, _ in data["cooccurring"]["person"]]
    assert "Angela Merkel" not in together and together


def test_xss_title_source_url_and_query_are_shown_as_text(site):
    base, _ = site
    for url in (
        f"{base}/articles/xss",
        f"{base}/?{q(q='Merkel Artikel')}",
        f"{base}/?{q(q='<script>alert(9)</script>')}",
        f"{base}/?{q(q='Merkel', source='<b>Quelle</b>')}",
    ):
        status, _, body = get(url)
        assert status in (200, 400), url
        assert "<script>alert" not in body and "<b>Quelle</b>" not in body, url
        assert "<img src=x" not in body and 'href="javascript:' not in body, url
    _, _, body = get(f"{base}/articles/xss")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    _, data = get_json(f"{base}/api/articles/xss")
    assert data["title"] == XSS_TITLE  # JSON carries the value as it is


def test_static_files_and_nothing_from_the_filesystem(site):
    base, _ = site
    status, headers, css = get(f"{base}/static/style.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and ".bar" in css
    for path in ("/static/..%2Fapp.py", "/static/../app.py", "/static/x.html", "/articles/..%2F.."):
        status, _, body = get(base + path)
        assert status == 404, path
        assert "import" not in body


def test_read_only(site):
    base, _ = site
    request = urllib.request.Request(f"{base}/api/search?q=x", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 405


# -- export ----------------------------------------------------------------------------------------


def test_export_csv_and_jsonl_hold_all_matches(site, monkeypatch):
    base, _ = site
    _, data = get_json(f"{base}/api/search?{q(q='Gipfel', copies='all')}")
    status, headers, body = get(f"{base}/export?{q(q='Gipfel', format='csv')}")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert "attachment" in headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == data["total"] > 10  # all matches, not one page
    _, _, body = get(f"{base}/export?{q(q='Gipfel', format='jsonl')}")
    assert [json.loads(line)["id"] for line in body.splitlines()] == [r["id"] for r in rows]
    monkeypatch.setattr(web_app, "MAX_EXPORT_ROWS", 5)
    _, headers, body = get(f"{base}/export?{q(q='Gipfel', format='jsonl')}")
    assert len(body.splitlines()) == 5 and headers["x-newssearch-limit"] == "5"


# -- JSON API --------------------------------------------------------------------------------------


def test_api_search_has_the_same_fields_as_query_json(site):
    base, config = site
    _, data = get_json(f"{base}/api/search?{q(q='Gipfel Putin', person='Angela Merkel')}")
    args = ["query", "Gipfel Putin", "--person", "Angela Merkel", "--json"]
    cli_out = CliRunner().invoke(cli, [*args, "--index", str(config.index)])
    assert cli_out.exit_code == 0, cli_out.output
    assert data == json.loads(cli_out.output)
    _, faceted = get_json(f"{base}/api/search?{q(q='Gipfel', facets='person,date')}")
    assert set(faceted["facets"]) == {"person", "date"}


def test_api_article_similar_entities_and_openapi(site):
    base, _ = site
    status, article = get_json(f"{base}/api/articles/g03")
    assert status == 200 and article["id"] == "g03" and article["text"]
    assert article["entities"]["person"] and article["mentions"]
    first = article["mentions"][0]
    assert article["text"][first["start"] : first["end"]]
    status, similar = get_json(f"{base}/api/articles/g03/similar?limit=3")
    assert status == 200 and 0 < len(similar["hits"]) <= 3
    assert "g03" not in [hit["id"] for hit in similar["hits"]]
    status, top = get_json(f"{base}/api/entities?label=PER&top=2")
    assert status == 200 and list(top) == ["person"] and len(top["person"]) == 2
    assert top["person"][0]["articles"] >= top["person"][1]["articles"]
    status, spec = get_json(f"{base}/api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    for path in ("/api/search", "/api/articles/{id}", "/api/entities"):
        assert path in spec["paths"]
    assert "/api/articles/{id}/similar" in spec["paths"]


BAD = [
    ("/api/search?page=0", 400, "page must be between 1 and 1000"),
    ("/api/search?page=abc", 400, "page must be a whole number"),
    ("/api/search?limit=100000", 400, "limit must be between 1 and 100"),
    ("/api/search?sort=oldest", 400, "cannot sort by 'oldest'"),
    ("/api/search?from=2016-13-01", 400, "from must be a date"),
    ("/api/search?from=2016-05-01&to=2015-01-01", 400, "is after to"),
    ("/api/search?q=%22Merkel&strict=1", 400, "unbalanced quote"),
    ("/api/search?q=(Merkel&strict=1", 400, "unbalanced '('"),
    ("/api/search?q=Merkel+AND&strict=1", 400, "needs a word after it"),
    ("/api/search?q=date:gestern&strict=1", 400, "cannot read the date"),
    ("/api/search?facets=weather", 400, "unknown facet 'weather'"),
    ("/api/search?interval=hour", 400, "interval must be one of"),
    ("/api/search?q=" + "x" * 1001, 400, "the limit is 1,000"),
    ("/api/search?" + "&".join(["person=a"] * 1) + "&person=" + "y" * 201, 400, "longer than 200"),
    ("/api/articles/nope", 404, "no article with id 'nope'"),
    ("/api/articles/nope/similar", 404, "no article with id 'nope'"),
    ("/api/articles/g01/similar?limit=-1", 400, "limit must be between"),
    ("/api/entities?label=ANIMAL", 400, "unknown label 'ANIMAL'"),
    ("/api/entities?top=0", 400, "top must be between"),
    ("/api/entities/weather/sun", 404, "unknown kind 'weather'"),
    ("/api/entities/person/Nobody%20Known", 404, "no article names the person"),
    ("/api/nothing", 404, "Not Found"),
]


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ('"Merkel', "unpaired quote"),
        ("(Merkel", "unpaired '('"),
        ("Merkel AND", "'AND' at the end"),
    ],
)
def test_query_slips_are_read_leniently_with_a_notice(site, text, notice):
    base, _ = site
    status, data = get_json(f"{base}/api/search?{q(q=text)}")
    assert status == 200 and notice in data["notice"], data


def test_search_page_reads_slips_leniently_too(site):
    # the page once asked again for the query's terms strictly: a slip the search read
    # leniently made the page a 400
    base, _ = site
    status, _, body = get(f"{base}/?{q(q='Merkel AND')}")
    assert status == 200 and "Treffer" in body
    assert "Hinweis: " in body and "&#39;AND&#39; at the end" in body
    assert re.search(r"Gesucht nach: <code>merkel</code>", body)


@pytest.mark.parametrize(("path", "status", "message"), BAD)
def test_bad_parameters_give_json_errors_never_a_500(site, path, status, message):
    base, _ = site
    got, data = get_json(base + path)
    assert got == status, data
    assert data["error"]["status"] == status
    assert message in data["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/?page=abc",
        "/?q=%22Merkel",
        "/?from=gestern",
        "/?q=" + "x" * 1001,
        "/articles/nope",
        "/entities/person/Merkl",
        "/entities/animal/x",
        "/export?format=xml",
        "/?page=999",
    ],
)
def test_bad_parameters_on_pages_give_a_german_page_with_the_message(site, path):
    base, _ = site
    status, headers, body = get(base + path)
    assert status in (200, 400, 404), path  # page 999: past the last page, said on the page
    assert headers["content-type"].startswith("text/html")
    assert "Traceback" not in body
    if status != 200:
        assert "Zur Suche" in body
    if "Merkl" in path:
        assert "Meinten Sie: Angela Merkel" in body


# -- concurrency -----------------------------------------------------------------------------------


def test_pool_never_lends_one_newssearch_to_two_threads(tmp_path: Path):
    pool = SearcherPool(Config(index=tmp_path / "none"), size=3)
    busy: set[int] = set()
    clashes: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(200):
            with pool.lease() as ns:
                with lock:
                    if id(ns) in busy:
                        clashes.append(id(ns))
                    busy.add(id(ns))
                with lock:
                    busy.discard(id(ns))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not clashes


@pytest.mark.slow
def test_reindex_during_requests_never_breaks_a_page(tmp_path: Path):
    config = web_config(tmp_path / "index")
    records = web_corpus()
    first = write_jsonl(tmp_path / "corpus" / "a.jsonl", records[:20])
    more = write_jsonl(tmp_path / "corpus" / "b.jsonl", records[20:])
    with NewsSearch(config.index, config) as ns:
        ns.index([first])
    failures: list[str] = []
    totals: list[int] = []
    stop = threading.Event()
    with running_server(config) as base:

        def client(path: str) -> None:
            while not stop.is_set():
                status, _, body = get(base + path, timeout=60)
                if status != 200:
                    failures.append(f"{path}: {status} {body[:200]}")
                elif path.startswith("/api/search"):
                    totals.append(json.loads(body)["total"])

        paths = ["/api/search?q=*&facets=all", "/?q=Gipfel", "/articles/g01", "/?q=*&sort=date"]
        threads = [threading.Thread(target=client, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        with NewsSearch(config.index, config) as writer:
            writer.index([first, more])  # incremental: adds records
            for _ in range(3):  # a fresh index switched in when complete, old files removed
                writer.index([first, more], rebuild=True)
                writer.optimize()
        stop.set()
        for t in threads:
            t.join(timeout=120)
        _, data = get_json(f"{base}/api/search?q=*")
    assert not failures, failures[:3]
    assert data["total"] == len(records)  # the server follows the index's commits
    assert totals and set(totals) <= {20, len(records)}


def test_serve_command_says_where_to_open_and_warns_off_localhost(site, monkeypatch):
    _, config = site
    calls = []
    monkeypatch.setattr(
        "newssearch.web.serve", lambda app, host, port, **kw: calls.append((host, port))
    )
    result = CliRunner().invoke(cli, ["serve", "--index", str(config.index), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "Open http://127.0.0.1:8123/ in a browser" in result.output
    assert "WARNING" not in result.output
    result = CliRunner().invoke(cli, ["serve", "--index", str(config.index), "--host", "0.0.0.0"])
    assert "WARNING: listening on 0.0.0.0" in result.output
    assert calls == [("127.0.0.1", 8123), ("0.0.0.0", 8000)]
    result = CliRunner().invoke(cli, ["serve", "--index", str(config.index) + "-missing"])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_date_buckets_as_ranges_and_bars():
    assert range_of("2016") == (dt.date(2016, 1, 1), dt.date(2016, 12, 31))
    assert range_of("2016-02") == (dt.date(2016, 2, 1), dt.date(2016, 2, 29))
    assert range_of("2016-W01") == (dt.date(2016, 1, 4), dt.date(2016, 1, 10))
    assert range_of("2016-03-31") == (dt.date(2016, 3, 31), dt.date(2016, 3, 31))
    bars = histogram([("2016-01", 4), ("2016-02", 0), ("2016-03", 2)], lambda a, b: f"{a}/{b}")
    assert bars[0].href == "2016-01-01/2016-01-31"
    assert bars[1].height == 0 and bars[0].height == 2 * bars[2].height
    months = [(f"{2000 + i // 12}-{i % 12 + 1:02d}", 1) for i in range(120)]
    assert web_app.by_year(months)[:2] == (("2000", 12), ("2001", 12))
    assert web_app.by_year(months[:12]) == months[:12]


@pytest.mark.slow
def test_serve_command_with_two_worker_processes_over_real_http(site):
    _, config = site
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    args = ["serve", "--index", str(config.index), "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        [sys.executable, "-m", "newssearch", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = server.stdout.readline()
        assert first_line.startswith("Serving 37 articles"), first_line
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, data = get_json(f"{base}/api/search?q=Gipfel", timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr.read()
                time.sleep(0.5)
        assert status == 200 and data["total"] > 10
        statuses = {get(f"{base}/?q=Gipfel")[0] for _ in range(6)}
        assert statuses == {200}
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_rebuild_by_another_process_while_serving(tmp_path: Path):
    """`newssearch index --rebuild` in its own process, as a user would run it, under load."""
    config = web_config(tmp_path / "index")
    corpus = write_jsonl(tmp_path / "corpus" / "a.jsonl", web_corpus())
    with NewsSearch(config.index, config) as ns:
        ns.index([corpus])
    failures: list[str] = []
    stop = threading.Event()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    with running_server(config) as base:

        def client() -> None:
            while not stop.is_set():
                status, _, body = get(f"{base}/?q=Gipfel&person=Angela+Merkel", timeout=60)
                if status != 200:
                    failures.append(f"{status} {body[:200]}")

        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        for _ in range(2):
            settings = tmp_path / "config.yaml"
            settings.write_text(WEB_CONFIG_YAML)
            command = ["index", "--rebuild", "--quiet", "--config", str(settings)]
            command += ["--index", str(config.index), str(corpus)]
            done = subprocess.run(
                [sys.executable, "-m", "newssearch", *command],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr
        stop.set()
        for t in threads:
            t.join(timeout=120)
        status, data = get_json(f"{base}/api/search?q=*")
    assert not failures, failures[:3]
    assert status == 200 and data["total"] == len(web_corpus())
