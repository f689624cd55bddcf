"""Wire copies folded into stories: grouping at index time, collapsing at query time."""

from __future__ import annotations

import json

from click.testing import CliRunner

from newssearch import Config, NewsSearch
from newssearch.cli import cli
from newssearch.enrich.stories import StoryGrouper, is_copy, signature
from newssearch.models import Article

from .conftest import write_jsonl
from .test_ingest import gnad


def agency_copy(text: str, lead: str = "Wie die Nachrichtenagentur meldet, gibt es Neues.") -> str:
    """The text with its lead rewritten and its last third cut, as outlets reuse agency copy."""
    sentences = text.split(". ")
    return ". ".join([lead, *sentences[1 : max(2, len(sentences) * 2 // 3)]])


def test_copies_join_and_distinct_articles_do_not(shared_data):
    articles = gnad(shared_data, 40)
    grouper = StoryGrouper()
    stories = {}
    for a in articles:
        stories[a["id"]] = grouper.fields(Article(id=a["id"], text=a["text"]))["story"]
    assert len(set(stories.values())) == len(articles)  # no two distinct articles joined
    for a in articles[:10]:
        copy = Article(id=a["id"] + "-copy", text=agency_copy(a["text"]), source="Kurier")
        assert grouper.fields(copy)["story"] == a["id"]
    first = articles[0]["text"]
    assert is_copy(signature(first), signature(agency_copy(first))) > 0


def test_headlines_with_the_same_title_are_copies_only_on_the_same_day():
    grouper = StoryGrouper()
    import datetime as dt

    def headline(i: str, day: int, source: str) -> str:
        article = Article(
            id=i,
            text="",
            title="Nachrichten des Tages",
            date=dt.datetime(2016, 3, day),
            source=source,
        )
        return grouper.fields(article)["story"]

    assert headline("a", 1, "SZ") == "a"
    assert headline("b", 2, "SZ") == "b"  # the daily column: a new article every day
    assert headline("c", 2, "FAZ") == "b"  # same title, same day: the same story
    undated = Article(id="d", text="", title="Nachrichten des Tages")
    assert grouper.fields(undated)["story"] == "d"


def test_collapse_in_api_cli_and_across_runs(shared_data, tmp_path):
    articles = gnad(shared_data, 30, skip=100)
    records = [
        {"id": a["id"], "text": a["text"], "source": "Der Standard", "date": "2016-03-01"}
        for a in articles
    ]
    target = articles[0]
    records.append(
        {
            "id": "kurier-1",
            "text": agency_copy(target["text"]),
            "source": "Kurier",
            "date": "2016-03-01",
        }
    )
    first = write_jsonl(tmp_path / "a.jsonl", records)
    later = write_jsonl(
        tmp_path / "b.jsonl",
        [
            {
                "id": "presse-1",
                "text": agency_copy(target["text"], "Eine neue Einleitung steht hier."),
                "source": "Die Presse",
            }
        ],
    )
    index = tmp_path / "ix"
    # a word of the copied article that no other of these articles has
    words = [w for w in target["text"].split() if w.isalpha() and len(w) > 6]
    word = next(
        w
        for w in words
        if sum(w in a["text"] for a in articles) == 1 and w in agency_copy(target["text"])
    )
    with NewsSearch(index, Config(index=index)) as ns:
        ns.index([first])
        ns.index([later])  # a copy indexed in a later run joins the old story
        plain = ns.search(word, facets=("source",))
        assert plain.total == 3 and {h.story for h in plain.hits} == {target["id"]}
        folded = ns.search(word, collapse=True, facets=("source",))
        assert folded.total == 1 and folded.hits[0].copy_count == 2
        assert {s for _, s in folded.hits[0].copies} | {folded.hits[0].source} == {
            "Der Standard",
            "Kurier",
            "Die Presse",
        }
        assert sum(n for _, n in folded.facets["source"]) == 1  # facets count stories
        (group,) = ns.duplicates()
        assert {a.id for a in group} == {target["id"], "kurier-1", "presse-1"}
    runner = CliRunner()
    out = runner.invoke(cli, ["query", "--index", str(index), word]).output
    assert "1 article matches" in out and "+2 copies:" in out and "Die Presse" in out
    out = runner.invoke(cli, ["query", "--index", str(index), "--all-copies", word]).output
    assert "3 articles match" in out and "copies" not in out
    data = json.loads(runner.invoke(cli, ["duplicates", "--index", str(index), "--json"]).output)
    assert len(data) == 1 and len(data[0]["articles"]) == 3


def test_enrichment_workers_make_the_signatures(shared_data, monkeypatch):
    from newssearch.config import EnrichConfig
    from newssearch.index import pool

    monkeypatch.setattr(pool, "POOL_MIN", 8)
    monkeypatch.setattr(pool, "CHUNK", 4)
    articles = gnad(shared_data, 12)
    items = [(a["id"], None, a["text"]) for a in articles] + [("headline", "Nur ein Titel", "")]
    enricher = pool.Enricher(EnrichConfig(), workers=2)
    try:
        prepared = dict(enricher.run(items))
    finally:
        enricher.close()
    assert enricher.used_workers == 2
    for a in articles:
        assert (prepared[a["id"]].signature == signature(a["text"])).all()
    assert prepared["headline"].signature is None
    off = pool.prepare([(None, articles[0]["text"])], EnrichConfig(stories=False), None)
    assert off[0].signature is None


def test_later_runs_find_stories_through_the_key_file_or_its_rebuild(shared_data, tmp_path):
    """Band keys live beside the index, not in it; a lost or stale key file is made again."""
    articles = gnad(shared_data, 3, skip=200)
    first = write_jsonl(
        tmp_path / "a.jsonl",
        [{"id": a["id"], "text": a["text"], "source": "Der Standard"} for a in articles]
        + [{"id": "h1", "title": "Nachrichten des Tages", "date": "2016-03-01"}],
    )
    index = tmp_path / "ix"
    with NewsSearch(index, Config(index=index)) as ns:
        ns.index([first])
    (keys,) = index.glob("*_STORYKEYS.npz")
    from whoosh import index as whoosh_index

    schema = whoosh_index.open_dir(str(index), indexname=keys.name.split("_")[0]).schema
    assert "lsh" not in schema  # 32 band keys per article are not index terms
    for run, lose_file in enumerate((False, True)):
        if lose_file:
            keys.unlink()  # as a run killed between its commit and the file's save leaves it
        later = write_jsonl(
            tmp_path / f"b{run}.jsonl",
            [
                {"id": f"copy{run}", "text": agency_copy(articles[run]["text"])},
                {"id": f"h{run + 2}", "title": "Nachrichten des Tages", "date": "2016-03-01"},
                {
                    "id": f"other{run}",
                    "title": "Nachrichten des Tages",
                    "date": f"2016-03-0{run + 2}",
                },
            ],
        )
        with NewsSearch(index, Config(index=index)) as ns:
            ns.index([later])
            groups = {frozenset(a.id for a in group) for group in ns.duplicates(top=100)}
        assert keys.exists()
        assert {articles[0]["id"], "copy0"} in groups
        assert {"h1", "h2", *(["h3"] if run else [])} in groups
        if run:
            assert {articles[1]["id"], "copy1"} in groups
        assert not any(f"other{run}" in group for group in groups)
