"""Keeping a large index tidy: --prune for records removed from the corpus, optimize for segments."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from newssearch import Config, EnrichConfig, IndexingConfig, IndexNotFoundError, NewsSearch
from newssearch.cli import cli

from .conftest import NEWS, write_jsonl


def config_for(tmp_path) -> Config:
    # no enrichment: these tests are about the index's bookkeeping, not about the models
    return Config(index=tmp_path / "ix").replace(
        enrich=EnrichConfig(sections=False, entities=False)
    )


def test_prune_deletes_articles_whose_records_are_gone(tmp_path):
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "a.jsonl", NEWS[:2])
    write_jsonl(corpus / "b.jsonl", NEWS[2:])
    with NewsSearch(tmp_path / "ix", config_for(tmp_path)) as ns:
        assert ns.index([corpus]).added == 4
        # a line removed from one file, the other file deleted
        write_jsonl(corpus / "a.jsonl", NEWS[:1])
        (corpus / "b.jsonl").unlink()
        without = ns.index([corpus])
        assert without.pruned == [] and ns.count() == 4  # no --prune: nothing is deleted
        report = ns.index([corpus], prune=True)
        assert report.pruned == sorted(d["id"] for d in NEWS[1:])
        assert report.read == report.unchanged == 1
        assert ns.count() == 1 and ns.get(NEWS[0]["id"]) is not None
        assert ns.search("Straßenbahn").total == 0
        assert ns.check().ok  # the manifest's count follows the prune
        assert "3 pruned" in report.summary()
        assert ns.index([corpus], prune=True).pruned == []


def test_prune_keeps_records_that_are_rejected_now(tmp_path):
    corpus = tmp_path / "corpus"
    config = config_for(tmp_path)
    with NewsSearch(tmp_path / "ix", config) as ns:
        ns.index([write_jsonl(corpus / "a.jsonl", NEWS)])
        small = config.replace(indexing=IndexingConfig(max_text_mb=0.00005))
    with NewsSearch(tmp_path / "ix", small) as ns:
        report = ns.index([corpus], prune=True)
        assert report.rejected and report.pruned == []  # too long now, but still in the corpus
        assert ns.count() == len(NEWS)
    # a record with a bad date is still there too; a line that does not parse names no id
    broken = [dict(NEWS[0], date="yesterday"), "{not json", *NEWS[2:]]
    with NewsSearch(tmp_path / "ix", config) as ns:
        report = ns.index([write_jsonl(corpus / "a.jsonl", broken)], prune=True)
        assert len(report.rejected) == 2
        assert report.pruned == [NEWS[1]["id"]]


def segments(ns: NewsSearch) -> int:
    return ns.check().segments


def test_small_segments_are_merged_at_the_end_of_a_run(tmp_path):
    config = config_for(tmp_path)
    with NewsSearch(tmp_path / "ix", config) as ns:
        for i in range(6):  # six runs of one record: without merging, six segments
            ns.index(
                [write_jsonl(tmp_path / f"c{i}" / "a.jsonl", [{**NEWS[i % 4], "id": f"x{i}"}])]
            )
            assert segments(ns) <= 2
        assert ns.count() == 6


def test_optimize_merges_segments(tmp_path, monkeypatch):
    from newssearch.index import writer as indexing

    monkeypatch.setattr(indexing, "SMALL_SEGMENT", 0)  # keep one segment per run
    config = config_for(tmp_path)
    with NewsSearch(tmp_path / "ix", config) as ns:
        for i, record in enumerate(NEWS):  # one run, one segment per record
            ns.index([write_jsonl(tmp_path / f"c{i}" / "a.jsonl", [record])])
        before = ns.search("Sieger OR Mannschaft OR Innenstadt OR Asylpaket", limit=10)
        report = ns.optimize()
        assert report.segments_before == len(NEWS) and report.segments_after == 1
        assert report.documents == len(NEWS)
        after = ns.search("Sieger OR Mannschaft OR Innenstadt OR Asylpaket", limit=10)
        assert [h.id for h in after.hits] == [h.id for h in before.hits]
        assert ns.check().ok
    with pytest.raises(IndexNotFoundError):
        NewsSearch(tmp_path / "none", config).optimize()


def test_cli_prune_and_optimize(tmp_path):
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "a.jsonl", NEWS)
    runner = CliRunner()
    ix = ["--index", str(tmp_path / "ix")]
    assert runner.invoke(cli, ["index", str(corpus), *ix, "-q"]).exit_code == 0
    write_jsonl(corpus / "a.jsonl", NEWS[:3])
    out = runner.invoke(cli, ["index", str(corpus), "--prune", *ix])
    assert out.exit_code == 0, out.output
    assert f"pruned {NEWS[3]['id']}" in out.output and "1 pruned" in out.output
    out = runner.invoke(cli, ["index", str(corpus), "--prune", "--json", *ix])
    assert json.loads(out.output)["pruned"] == []
    out = runner.invoke(cli, ["optimize", *ix])
    assert out.exit_code == 0 and "into 1" in out.output
    out = runner.invoke(cli, ["optimize", "--json", *ix])
    assert json.loads(out.output)["segments_after"] == 1
    out = runner.invoke(cli, ["optimize", "--index", str(tmp_path / "none")])
    assert out.exit_code == 1 and "newssearch index" in out.output
    assert "--prune" in runner.invoke(cli, ["index", "--help"]).output
