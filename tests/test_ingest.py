"""Bring your own news: headline lists, field mapping, HTML/RSS/WARC and odd CSV readers."""

from __future__ import annotations

import gzip
import io
import itertools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import Article, Config, NewsSearch, Rejection
from newssearch.cli import cli
from newssearch.config import config_from_dict
from newssearch.errors import ConfigError
from newssearch.ingest.readers import ReadOptions, parse_date, read_corpus

from .conftest import write_jsonl


def gnad(shared: Path, n: int, skip: int = 0) -> list[dict]:
    """``n`` shared gnad articles (real DER STANDARD text)."""
    with open(shared / "corpus" / "gnad.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, skip, skip + n)]


def headlines(shared: Path, n: int) -> list[dict]:
    """The first ``n`` shared headline records, as they are."""
    with gzip.open(shared / "corpus" / "headlines.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, n)]


def split_lead(text: str) -> tuple[str, str]:
    """(lead sentence, rest): gnad's first sentence is the article's lead, used as a title."""
    lead, _, rest = text.partition(". ")
    return lead, rest


def test_german_dates():
    assert parse_date("12.10.2015").isoformat() == "2015-10-12T00:00:00"
    assert parse_date("12. Oktober 2015").isoformat() == "2015-10-12T00:00:00"
    assert parse_date("3. Jänner 2016, 14:30 Uhr").isoformat() == "2016-01-03T14:30:00"
    assert parse_date("Mo, 12. Okt. 2015").date().isoformat() == "2015-10-12"
    assert parse_date("Mon, 12 Oct 2015 10:00:00 +0200").isoformat() == "2015-10-12T08:00:00"
    for bad in ("31.02.2015", "12. Oktobär 2015", "gestern"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_headlines_index_as_they_are(shared_data, tmp_path):
    records = headlines(shared_data, 300)
    path = tmp_path / "headlines.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    runner = CliRunner()
    index = tmp_path / "ix"
    result = runner.invoke(cli, ["index", "--index", str(index), str(path)])
    assert result.exit_code == 0, result.output
    assert "300 added" in result.output and "0 rejected" in result.output
    first = records[0]
    with NewsSearch(index, Config(index=index)) as ns:
        article = ns.get(first["id"])
        assert article is not None
        assert article.title == first["title"] and article.text == ""
        assert article.source == first["outlet"]  # the outlet is the source
        assert article.date.date().isoformat() == first["date"]
        assert article.url == first["url"]
        assert article.extra["url_section"] == first["url_section"]
        sources = ns.search("*", facets=("source",)).facets["source"]
        assert dict(sources)[first["outlet"]] == sum(
            r["outlet"] == first["outlet"] for r in records
        )
    # the title is shown once: no snippet or body repeats it
    word = "Koalitionsverhandlungen"
    assert word in first["title"]
    out = runner.invoke(cli, ["query", "--index", str(index), word, "-n", "50"]).output
    assert out.count(first["title"]) == 1, out
    out = runner.invoke(cli, ["show", "--index", str(index), first["id"]]).output
    assert out.count(first["title"]) == 1 and out.rstrip().splitlines()[-1].startswith("2013-10-17")


def test_field_mapping_in_config(tmp_path):
    corpus = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"nr": "z1", "zeitung": "Kurier", "inhalt": "Der Nationalrat tagt.", "kopf": "Sitzung"},
            {"nr": "z2", "Headline": "Nur eine Schlagzeile", "publisher": "Presse"},
        ],
    )
    (tmp_path / "config.yaml").write_text(
        "fields:\n  source: [zeitung]\n  text: inhalt\n  title: [kopf]\n  id: [nr]\n", "utf-8"
    )
    from newssearch.config import load_config

    config = load_config(tmp_path / "config.yaml")
    options = ReadOptions(fields=config.fields)
    first, second = read_corpus([corpus], options=options)
    assert (first.id, first.source, first.text, first.title) == (
        "z1",
        "Kurier",
        "Der Nationalrat tagt.",
        "Sitzung",
    )
    assert (second.id, second.title, second.source, second.text) == (
        "z2",
        "Nur eine Schlagzeile",
        "Presse",
        "",
    )
    with pytest.raises(ConfigError, match=r"unknown field 'fields.quelle'"):
        config_from_dict({"fields": {"quelle": ["zeitung"]}})
    with pytest.raises(ConfigError, match=r"'fields.source' must be a column name"):
        config_from_dict({"fields": {"source": [1]}})


def _csv_rows(articles: list[dict], dates: list[str]) -> list[list[str]]:
    rows = []
    for n, (a, date) in enumerate(zip(articles, dates, strict=False)):
        lead, rest = split_lead(a["text"])
        rows.append([a["id"], lead, rest, "Der Standard" if n % 2 else "Kurier", date])
    return rows


def test_semicolon_and_latin1_csv(shared_data, tmp_path):
    articles = gnad(shared_data, 4)
    dates = ["12.10.2015", "12. Oktober 2015", "3. März 2016", "2016-01-05"]
    rows = _csv_rows(articles, dates)
    # the German Excel default: semicolons, UTF-8, our aliases as headers
    semi = tmp_path / "semikolon.csv"
    semi.write_text(
        "id;headline;content;outlet;published\n"
        + "".join(";".join(f'"{c}"' for c in row) + "\n" for row in rows),
        "utf-8",
    )
    # Latin-1 with German headers, named in the config; sniffed, and also read as told
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        (
            "nummer;titel;inhalt;zeitung;datum\n"
            + "".join(";".join(f'"{c}"' for c in row) + "\n" for row in rows)
        ).encode("latin-1", "replace")
    )
    config = Config(
        index=tmp_path / "ix",
        fields={
            "id": ("nummer",),
            "title": ("titel",),
            "text": ("inhalt",),
            "source": ("zeitung",),
            "date": ("datum",),
        },
    )
    for path, kwargs in (
        (semi, {}),
        (latin, {}),
        (latin, {"encoding": "latin-1", "delimiter": ";"}),
    ):
        with NewsSearch(tmp_path / "ix", config) as ns:
            report = ns.index([path], rebuild=True, **kwargs)
            assert report.added == 4 and not report.rejected, report.rejected
            for row, date in zip(
                rows, ["2015-10-12", "2015-10-12", "2016-03-03", "2016-01-05"], strict=True
            ):
                article = ns.get(row[0])
                expected = (
                    row[1]
                    if path == semi
                    else row[1].encode("latin-1", "replace").decode("latin-1")
                )
                assert article.title == expected
                assert article.source == row[3] and article.date.date().isoformat() == date
                assert "ä" in "".join(a.text for a in [ns.get(r[0]) for r in rows])
    # a bad delimiter given by hand: the header is one column, and the message says what to do
    result = CliRunner().invoke(
        cli, ["index", "--index", str(tmp_path / "ix2"), "--delimiter", ",", str(semi)]
    )
    assert result.exit_code == 1
    assert "CSV header has no text or title column" in result.output
    assert "nothing was indexed: all 1 record read were rejected" in result.output


def _page(title: str, text: str, date: str, site: str, author: str) -> str:
    paras = "".join(f"<p>{p}.</p>" for p in text.split(". "))
    return f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<title>{title} | {site}</title><meta property="og:title" content="{title}">
<meta property="og:site_name" content="{site}"><meta name="author" content="{author}">
<meta property="article:published_time" content="{date}"></head>
<body><nav><a href="/">Startseite</a> <a href="/inland">Inland</a></nav>
<article><h1>{title}</h1>{paras}</article><footer>Impressum · Datenschutz</footer></body></html>"""


def test_html_page(shared_data, tmp_path):
    (article,) = gnad(shared_data, 1, skip=10)
    lead, rest = split_lead(article["text"])
    page = tmp_path / "web" / "artikel.html"
    page.parent.mkdir()
    page.write_text(
        _page(lead, rest, "2016-03-08T10:15:00+01:00", "derStandard.at", "Maria Muster"), "utf-8"
    )
    (found,) = read_corpus([page.parent])
    assert isinstance(found, Article)
    assert (
        found.title == lead and found.source == "derStandard.at" and found.author == "Maria Muster"
    )
    assert found.date.date().isoformat() == "2016-03-08"
    assert rest.split(". ")[1] in found.text and "Impressum" not in found.text
    assert not found.text.startswith(lead)


def test_rss_feed(shared_data, tmp_path):
    articles = gnad(shared_data, 3, skip=20)
    items = []
    dates = ["Tue, 08 Mar 2016 10:15:00 +0100", "Wed, 09 Mar 2016 07:00:00 GMT", ""]
    for a, date in zip(articles, dates, strict=True):
        lead, rest = split_lead(a["text"])
        items.append(
            f"<item><title>{lead}</title><link>https://www.derstandard.at/{a['id']}</link>"
            f"<guid>{a['id']}</guid>"
            + (f"<pubDate>{date}</pubDate>" if date else "")
            + f"<description><![CDATA[<p>{rest[:400]}</p>]]></description></item>"
        )
    items.append("<item><description></description></item>")  # nothing in it: rejected
    feed = tmp_path / "standard.rss"
    feed.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>\n'
        "<title>derStandard.at Inland</title><link>https://www.derstandard.at</link>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n",
        "utf-8",
    )
    records = list(read_corpus([feed]))
    assert [type(r) for r in records] == [Article, Article, Article, Rejection]
    first = records[0]
    assert first.id == articles[0]["id"] and first.title == split_lead(articles[0]["text"])[0]
    assert first.source == "derStandard.at Inland"
    assert first.date.isoformat() == "2016-03-08T09:15:00"
    assert records[1].date.isoformat() == "2016-03-09T07:00:00" and records[2].date is None
    assert split_lead(articles[0]["text"])[1][:50] in first.text
    assert records[3].line == 7 and "no title and no text" in records[3].reason


def test_warc(shared_data, tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    articles = gnad(shared_data, 2, skip=30)
    path = tmp_path / "crawl.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for n, a in enumerate(articles):
            lead, rest = split_lead(a["text"])
            body = _page(lead, rest, f"2016-0{n + 1}-1{n}", "derStandard.at", "APA").encode()
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            url = f"https://www.derstandard.at/story/{a['id']}"
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=headers
                )
            )
        image = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                "https://www.derstandard.at/logo.png",
                "response",
                payload=io.BytesIO(b"\x89PNG"),
                http_headers=image,
            )
        )
    with NewsSearch(tmp_path / "ix", Config(index=tmp_path / "ix")) as ns:
        report = ns.index([path])
        assert report.added == 2 and not report.rejected
        for n, a in enumerate(articles):
            article = ns.get(f"https://www.derstandard.at/story/{a['id']}")
            assert article.title == split_lead(a["text"])[0]
            assert article.source == "derStandard.at"
            assert article.date.date().isoformat() == f"2016-0{n + 1}-1{n}"


@pytest.mark.parametrize("gzip", [True, False])
def test_a_warc_file_cut_short_rejects_its_last_record(shared_data, tmp_path, gzip):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    articles = gnad(shared_data, 2, skip=40)
    path = tmp_path / ("crawl.warc.gz" if gzip else "crawl.warc")
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for n, a in enumerate(articles):
            lead, rest = split_lead(a["text"])
            body = _page(lead, rest, "2016-02-10", "derStandard.at", "APA").encode()
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    f"https://www.derstandard.at/story/{n}",
                    "response",
                    payload=io.BytesIO(body),
                    http_headers=headers,
                )
            )
    path.write_bytes(path.read_bytes()[:-60])  # an interrupted download
    with NewsSearch(tmp_path / "ix", Config(index=tmp_path / "ix")) as ns:
        report = ns.index([path])
        assert report.added == 1
        (rejected,) = report.rejected
        assert f"{path.name}:2" in str(rejected) and "cut short" in str(rejected)
        assert ns.get("https://www.derstandard.at/story/1") is None


def test_nothing_indexed_exits_nonzero(tmp_path):
    runner = CliRunner()
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"autor": "x"}, {"autor": "y"}])
    result = runner.invoke(cli, ["index", "--index", str(tmp_path / "ix"), str(bad)])
    assert result.exit_code == 1
    assert "nothing was indexed: all 2 records read were rejected" in result.output
    assert "no text" in result.output
    other = tmp_path / "docs"
    other.mkdir()
    (other / "bericht.pdf").write_bytes(b"%PDF-1.4")
    result = runner.invoke(cli, ["index", "--index", str(tmp_path / "ix"), str(other)])
    assert result.exit_code == 1 and "no file of a readable type" in result.output
