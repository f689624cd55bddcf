import datetime as dt
import json

import pytest

from newssearch import (
    AnalysisConfig,
    ArticleNotFoundError,
    Config,
    CorpusError,
    IndexIncompatibleError,
    IndexNotFoundError,
    NewsSearch,
    NewsSearchError,
    QueryError,
)

from .conftest import NEWS, write_jsonl


def ids(result):
    return [h.id for h in result.hits]


def test_search_finds_inflected_and_umlaut_variants(ns):
    assert ids(ns.search("Flüchtling")) == ["a1"]
    assert ids(ns.search("Muenchen Strassenbahn")) == ["a3"]
    assert ids(ns.search("US-Wahl"))[0] == "a4"
    assert ids(ns.search("May")) == ["a4"]


def test_hit_fields_and_snippet(ns):
    (hit,) = ns.search("Mattersburg Barisic").hits
    assert (hit.rank, hit.id, hit.title, hit.source) == (
        1,
        "a2",
        "Rapid gewinnt in Mattersburg",
        "Kurier",
    )
    assert hit.date == dt.datetime(2016, 3, 12)
    assert "**Mattersburg**" in hit.snippet and "**Barisic**" in hit.snippet
    assert hit.score > 0


def test_plain_words_are_ored_and_ranked(ns):
    result = ns.search("Asylpaket Straßenbahn Theresa")
    assert result.total == 3
    assert sorted(ids(result)) == ["a1", "a3", "a4"]


def test_query_language(ns):
    assert ids(ns.search("Rapid AND Mattersburg")) == ["a2"]
    assert ids(ns.search("Rapid AND München")) == []
    assert set(ids(ns.search("Länderkammer OR Stadtwerke"))) == {"a1", "a3"}
    assert "a1" not in ids(ns.search("Asylpaket OR Rapid NOT Flüchtlinge"))
    assert ids(ns.search('"neue Straßenbahnen"')) == ["a3"]
    assert ids(ns.search("„Auswärtsspiel in Mattersburg“")) == ["a2"]
    assert ids(ns.search("title:Rapid")) == ["a2"]
    assert ids(ns.search("source:kurier")) == ["a2"]
    assert set(ids(ns.search("date:[2016-01-01 to 2016-12-31]"))) == {"a1", "a2", "a4"}
    assert ids(ns.search("date:2015")) == ["a3"]
    assert ids(ns.search("Die date:2016-03")) == ["a2"]


def test_fields_option_restricts_search(ns):
    assert ids(ns.search("Länderkammer", fields=["title"])) == []
    assert ids(ns.search("Länderkammer", fields=["body"])) == ["a1"]
    with pytest.raises(QueryError, match="cannot search field 'nope'"):
        ns.search("x", fields=["nope"])


def test_sort_by_date_and_pages(ns):
    result = ns.search("Mannschaft OR Innenstadt OR Sieger OR Flüchtlinge", sort="date", limit=2)
    assert result.total == 4 and ids(result) == ["a4", "a2"]
    page2 = ns.search(
        "Mannschaft OR Innenstadt OR Sieger OR Flüchtlinge", sort="date", limit=2, page=2
    )
    assert ids(page2) == ["a1", "a3"] and [h.rank for h in page2.hits] == [3, 4]
    assert ns.search("Mannschaft", page=5).hits == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ('"offene Phrase', "unbalanced quote"),
        ("(Rapid OR Kurier", "unbalanced '('"),
        ("Rapid)", "unbalanced ')'"),
        ("date:[2016 to 2017", "unbalanced '['"),
        ("Rapid AND", "'AND' at the end"),
        ("OR Rapid", "'OR' at the start"),
        ("date:gestern", "cannot read the date"),
        ("date:[2015-13-45 to 2016]", "cannot parse the query"),
        ("   ", "the query is empty"),
    ],
)
def test_query_errors_are_clear(ns, text, message):
    with pytest.raises(
        QueryError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        ns.search(text, strict=True)
    assert ns.search(text).notice  # read leniently by default, saying how


def test_get_returns_the_stored_article(ns):
    art = ns.get("a4")
    assert art.title == "US-Wahl: Theresa May gratuliert"
    assert art.date == dt.datetime(2016, 11, 9, 7, 30)  # converted to UTC
    assert ns.get("missing") is None
    assert ns.count() == 4


def test_rerun_accounts_for_every_record(tmp_path, news_file):
    config = Config(index=tmp_path / "ix")
    with NewsSearch(tmp_path / "ix", config) as ns:
        first = ns.index([news_file])
        assert (first.read, first.added, first.updated, first.unchanged) == (4, 4, 0, 0)
        second = ns.index([news_file])
        assert (second.read, second.added, second.updated, second.unchanged) == (4, 0, 0, 4)
        changed = [
            dict(NEWS[0], text="Geänderter Text über das Asylpaket."),
            *NEWS[1:],
            {"id": "a5", "text": "Neu"},
            '{"broken',
        ]
        write_jsonl(news_file, changed)
        third = ns.index([news_file])
        assert (third.read, third.added, third.updated, third.unchanged, len(third.rejected)) == (
            6,
            1,
            1,
            3,
            1,
        )
        assert third.read == third.added + third.updated + third.unchanged + len(third.rejected)
        assert third.documents == 5
        assert ids(ns.search("geändert")) == ["a1"]
        assert "read 6 records" in third.summary()


def test_duplicate_ids_in_one_run_are_rejected(tmp_path):
    path = write_jsonl(
        tmp_path / "d.jsonl", [{"id": "x", "text": "eins"}, {"id": "x", "text": "zwei"}]
    )
    with NewsSearch(tmp_path / "ix") as ns:
        report = ns.index([path])
        assert report.added == 1 and len(report.rejected) == 1
        assert report.rejected[0].line == 2 and "duplicate id 'x'" in report.rejected[0].reason
        assert ns.get("x").text == "eins"


def test_strict_stops_at_first_bad_record(tmp_path):
    path = write_jsonl(
        tmp_path / "s.jsonl", [{"id": "1", "text": "gut"}, "{kaputt", {"id": "3", "text": "nie"}]
    )
    with NewsSearch(tmp_path / "ix") as ns:
        with pytest.raises(
            CorpusError, match=r"s.jsonl:2: broken JSON.*--strict.*records before it: 1, kept"
        ):
            ns.index([path], strict=True)
        assert ns.get("1") is not None and ns.get("3") is None


def test_no_index_yet(tmp_path):
    with pytest.raises(IndexNotFoundError, match="run `newssearch index` first"):
        NewsSearch(tmp_path / "none").search("x")


def test_other_analysis_settings_need_a_rebuild(tmp_path, news_file):
    NewsSearch(tmp_path / "ix").index([news_file])
    other = Config(analysis=AnalysisConfig(stemmer="cistem"))
    with pytest.raises(
        IndexIncompatibleError,
        match=r"stemmer: index has 'snowball', config has 'cistem'.*--rebuild",
    ):
        NewsSearch(tmp_path / "ix", other).search("x")
    with pytest.raises(IndexIncompatibleError):
        NewsSearch(tmp_path / "ix", other).index([news_file])
    with NewsSearch(tmp_path / "ix", other) as ns:
        report = ns.index([news_file], rebuild=True)
        assert report.rebuilt and report.added == 4
        assert ids(ns.search("Mattersburg")) == ["a2"]


def test_rebuild_leaves_one_index_behind(tmp_path, news_file):
    with NewsSearch(tmp_path / "ix") as ns:
        ns.index([news_file])
        ns.index([news_file], rebuild=True)
        ns.index([news_file], rebuild=True)
        names = {
            p.name.split("_")[0 if not p.name.startswith("_") else 1]
            for p in (tmp_path / "ix").iterdir()
            if p.name.startswith(("ns", "_ns"))
        }
        assert names == {json.loads((tmp_path / "ix" / "newssearch.json").read_text())["indexname"]}
        assert ns.count() == 4


def test_old_format_version_is_refused(tmp_path, news_file):
    NewsSearch(tmp_path / "ix").index([news_file])
    meta_path = tmp_path / "ix" / "newssearch.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(dict(meta, format_version=0)))
    with pytest.raises(IndexIncompatibleError, match=r"format version 0.*--rebuild"):
        NewsSearch(tmp_path / "ix").search("x")


def test_refuses_to_write_into_a_foreign_folder(tmp_path, news_file):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.docx").write_text("x")
    with pytest.raises(IndexIncompatibleError, match="holds no newssearch index"):
        NewsSearch(tmp_path / "home").index([news_file])


def test_writes_into_a_folder_where_another_run_is_creating_the_index(tmp_path, news_file):
    """What a second writer sees while the first creates the index: its files, no meta file yet."""
    from whoosh import index as whoosh_index

    from newssearch.index.schema import build_schema

    folder = tmp_path / "ix"
    folder.mkdir()
    whoosh_index.create_in(str(folder), build_schema(AnalysisConfig()), indexname="ns1")
    (folder / "newssearch.json.tmp").write_text("{")
    (folder / "newssearch.lock").write_text("")
    report = NewsSearch(folder).index([news_file])
    assert report.added == 4
    with NewsSearch(folder) as ns:
        assert ns.count() == 4


def test_searcher_sees_new_commits(tmp_path, news_file):
    with NewsSearch(tmp_path / "ix") as reader, NewsSearch(tmp_path / "ix") as writer:
        writer.index([news_file])
        assert reader.count() == 4
        write_jsonl(tmp_path / "more.jsonl", [{"id": "z", "text": "Zusatzmeldung"}])
        writer.index([tmp_path / "more.jsonl"])
        assert ids(reader.search("Zusatzmeldung")) == ["z"]
        writer.index([news_file], rebuild=True)
        assert reader.count() == 4


def test_progress_callback(tmp_path, news_file):
    seen = []
    NewsSearch(tmp_path / "ix").index([news_file], progress=seen.append)
    assert seen and seen[-1].bytes_done == seen[-1].bytes_total == news_file.stat().st_size
    assert seen[-1].records == 4


def test_parsed_query_keeps_coord_factor_through_rewrites(ns):
    from newssearch.index.schema import build_schema
    from newssearch.query.search import build_parser, parse

    parser = build_parser(build_schema(ns.config.analysis), ns.config.search)
    q = parse(parser, "Rapid Mattersburg NOT Flüchtlinge")
    assert q.a.scale == ns.config.search.coord  # AndNot(Or(...) with coord, Flüchtlinge)
    assert parse(parser, "Rapid Mattersburg").scale == ns.config.search.coord


def test_did_you_mean(ns):
    result = ns.search("Flüchtlnge")
    assert result.total == 0 and result.suggestion == "Flüchtlinge"
    assert ns.search("Mattersbrug Rapid").suggestion == "Mattersburg Rapid"
    assert ns.search("Mattersburg Rapid").suggestion is None
    assert ns.search("title:Rapid AND Xyzzyq").suggestion is None  # nothing close: no suggestion


STORIES = [
    {
        "id": "s1",
        "title": "Asylpaket im Bundesrat",
        "text": "Die Länderkammer billigt das Asylpaket. Flüchtlinge aus Syrien "
        "müssen länger auf den Familiennachzug warten, Abschiebungen werden beschleunigt.",
    },
    {
        "id": "s1-copy",
        "title": "Asylpaket im Bundesrat",
        "text": "Die Länderkammer billigt das Asylpaket. Flüchtlinge aus Syrien "
        "müssen länger auf den Familiennachzug warten, Abschiebungen werden beschleunigt. (APA)",
    },
    {
        "id": "s2",
        "title": "Streit um Familiennachzug",
        "text": "Der Familiennachzug für Flüchtlinge aus Syrien bleibt umstritten; "
        "die Regierung will Abschiebungen beschleunigen.",
    },
    {
        "id": "s3",
        "title": "Rapid siegt",
        "text": "Rapid gewinnt in Mattersburg mit 2:1, Barisic lobt die Mannschaft.",
    },
]


def test_similar_excludes_itself_and_copies(tmp_path):
    with NewsSearch(tmp_path / "ix") as ns:
        ns.index([write_jsonl(tmp_path / "s.jsonl", STORIES)])
        result = ns.similar("s1")
        assert ids(result)[0] == "s2"
        assert "s1" not in ids(result) and "s1-copy" not in ids(result)
        with pytest.raises(ArticleNotFoundError, match="no article with id 'nope'"):
            ns.similar("nope")


def test_phrases_keep_compounds_whole(tmp_path):
    with NewsSearch(tmp_path / "ix") as ns:
        ns.index(
            [
                write_jsonl(
                    tmp_path / "p.jsonl",
                    [
                        {"id": "p1", "text": "Über 20 Kooperationsabkommen wurden unterzeichnet."},
                        {
                            "id": "p2",
                            "text": "Das Abkommen zur Kooperation wurde nicht unterzeichnet.",
                        },
                    ],
                )
            ]
        )
        assert ids(ns.search('"Kooperationsabkommen wurden unterzeichnet"')) == ["p1"]
        assert set(ids(ns.search("Kooperationsabkommen"))) == {"p1", "p2"}
        assert ids(ns.search("Kooperationsabkommen"))[0] == "p1"


def brute_force(ns, text, **kw):
    """Facet counts the slow, obvious way: stored fields of every match."""
    from collections import Counter

    total = ns.search(text, limit=10_000, **kw)
    sources, months = Counter(), Counter()
    for hit in total.hits:
        art = ns.get(hit.id)
        if art.source:
            sources[art.source] += 1
        if art.date:
            months[f"{art.date:%Y-%m}"] += 1
    return total, sources, months


FACET_NEWS = [
    {
        "id": f"f{i}",
        "text": f"Meldung {i} über {'Wien' if i % 2 else 'Graz'} und Flüchtlinge",
        "source": ["Der Standard", "Kurier", "Die Presse"][i % 3] if i % 5 else None,
        "date": f"2016-{1 + i % 4:02d}-{1 + i % 27:02d}" if i % 7 else None,
    }
    for i in range(60)
]


@pytest.mark.parametrize(
    "text, kw",
    [
        ("Flüchtlinge", {}),
        ("Wien", {}),
        ("Wien OR Graz", {"filters": {"source": ["Kurier"]}}),
        (
            "Flüchtlinge",
            {
                "filters": {"source": ["Kurier", "Die Presse"]},
                "date_from": "2016-02-01",
                "date_to": "2016-03-31",
            },
        ),
        ("Meldung NOT Wien", {"date_to": "2016-01-31"}),
    ],
)
def test_facet_counts_match_brute_force(tmp_path, text, kw):
    with NewsSearch(tmp_path / "ix") as ns:
        ns.index([write_jsonl(tmp_path / "f.jsonl", FACET_NEWS)])
        result = ns.search(text, facets=("source", "date"), limit=3, **kw)
        total, sources, months = brute_force(ns, text, **kw)
        assert result.total == total.total == len(total.hits)
        assert dict(result.facets["source"]) == dict(sources)
        assert [c for _, c in result.facets["source"]] == sorted(sources.values(), reverse=True)
        assert tuple((k, v) for k, v in result.facets["date"] if v) == tuple(sorted(months.items()))


def test_filters_return_exactly_the_matching_articles(tmp_path):
    from collections import Counter

    with NewsSearch(tmp_path / "ix") as ns:
        ns.index([write_jsonl(tmp_path / "f.jsonl", FACET_NEWS)])
        hits = ns.search(
            "Meldung", filters={"source": ["Kurier"]}, date_from="2016-02-01", limit=100
        ).hits
        expected = {
            d["id"]
            for d in FACET_NEWS
            if d["source"] == "Kurier" and d["date"] and d["date"] >= "2016-02-01"
        }
        assert {h.id for h in hits} == expected
        years = ns.search("Meldung", facets=("date",), interval="year").facets["date"]
        assert years == (("2016", sum(1 for d in FACET_NEWS if d["date"])),)
        gappy = ns.search(
            "Meldung", facets=("date",), date_to="2016-01-31", filters={"source": ["Kurier"]}
        ).facets
        assert gappy["date"] == tuple(
            sorted(
                Counter(
                    d["date"][:7]
                    for d in FACET_NEWS
                    if d["source"] == "Kurier" and d["date"] and d["date"] < "2016-02"
                ).items()
            )
        )
        with pytest.raises(QueryError, match="unknown facet 'people'"):
            ns.search("Meldung", facets=("people",))
        with pytest.raises(QueryError, match="cannot filter by 'colour'"):
            ns.search("Meldung", filters={"colour": ["red"]})
        with pytest.raises(QueryError, match="date_from must be a date"):
            ns.search("Meldung", date_from="gestern")


def test_filters_do_not_change_scores(tmp_path):
    with NewsSearch(tmp_path / "ix") as ns:
        ns.index([write_jsonl(tmp_path / "f.jsonl", FACET_NEWS)])
        plain = {h.id: h.score for h in ns.search("Wien Flüchtlinge", limit=100).hits}
        filtered = ns.search("Wien Flüchtlinge", filters={"source": ["Kurier"]}, limit=100).hits
        assert filtered and all(abs(h.score - plain[h.id]) < 1e-9 for h in filtered)


def test_date_histogram_shows_empty_months_and_years(tmp_path):
    sparse = [
        {"id": "x1", "text": "Meldung", "date": "2014-11-02"},
        {"id": "x2", "text": "Meldung", "date": "2015-02-03"},
        {"id": "x3", "text": "Meldung", "date": "2015-02-20"},
        {"id": "x4", "text": "Meldung"},
    ]
    with NewsSearch(tmp_path / "ix") as ns:
        ns.index([write_jsonl(tmp_path / "g.jsonl", sparse)])
        assert ns.search("Meldung", facets=("date",)).facets["date"] == (
            ("2014-11", 1),
            ("2014-12", 0),
            ("2015-01", 0),
            ("2015-02", 2),
        )
        assert ns.search("Meldung", facets=("date",), interval="year").facets["date"] == (
            ("2014", 1),
            ("2015", 2),
        )
        assert ns.search("Meldung", facets=("date",), interval="day").facets["date"] == (
            ("2014-11-02", 1),
            ("2015-02-03", 1),
            ("2015-02-20", 1),
        )


def test_facets_count_right_when_a_segment_lacks_the_column(tmp_path):
    # Whoosh's MultiColumnReader misreads documents when one segment has no values in a column.
    with NewsSearch(tmp_path / "ix") as ns:
        ns.index(
            [
                write_jsonl(
                    tmp_path / "plain.jsonl",
                    [{"id": f"p{i}", "text": "Meldung aus Wien"} for i in range(5)],
                )
            ]
        )
        ns.index(
            [
                write_jsonl(
                    tmp_path / "rich.jsonl",
                    [
                        {
                            "id": f"r{i}",
                            "text": "Meldung aus Graz",
                            "source": "Kurier",
                            "date": "2016-03-01",
                        }
                        for i in range(3)
                    ],
                )
            ]
        )
        facets = ns.search("Meldung", facets=("source", "date")).facets
        assert facets["source"] == (("Kurier", 3),)
        assert facets["date"] == (("2016-03", 3),)


def test_export_runs_the_query_at_once(ns):
    """A bad request raises when export() is called, not when the first row is taken."""
    with pytest.raises(QueryError, match="sort"):
        ns.export("Asylpaket", sort="bogus")


def test_export_rows_taken_after_close_are_a_newssearch_error(ns):
    """Rows taken after close() (or a re-index) raise a NewsSearchError, not Whoosh's ReaderClosed."""
    rows = ns.export("Asylpaket OR Rapid")
    first = next(rows)
    assert first["id"] in {"a1", "a2"}
    ns.close()
    with pytest.raises(NewsSearchError, match="export"):
        next(rows)


def test_check_of_an_empty_index_is_ok(tmp_path):
    """An index whose every record was rejected (or a Ctrl-C before the first commit) checks OK."""
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "source": "ohne Titel und Text"}])
    with NewsSearch(tmp_path / "ix", Config(index=tmp_path / "ix")) as api:
        api.index([bad])
        report = api.check()
    assert report.ok, report.problems
    assert report.documents == 0 and report.segments == 0
