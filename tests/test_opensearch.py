"""The OpenSearch/Elasticsearch export, validated against the documented formats.

No cluster runs here: the index definition is checked against the parts of the OpenSearch
index API it uses (analysis filters and analyzers, mapping types), and the bulk files
against the bulk API's NDJSON rules (action line, source line, final newline).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from newssearch import Config, NewsSearch
from newssearch.archive.opensearch import ENTITY_FIELDS, KEYWORD_FIELDS
from newssearch.cli import cli
from newssearch.errors import ExportError

from .conftest import write_jsonl
from .test_ingest import gnad

BUILTIN_FILTERS = {"lowercase", "german_normalization", "asciifolding"}
FILTER_TYPES = {"stop", "dictionary_decompounder", "stemmer"}
STEMMER_LANGUAGES = {"german", "german2", "light_german", "minimal_german"}
FIELD_TYPES = {"text", "keyword", "date", "object"}
ACTIONS = {"index", "create", "update", "delete"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from .conftest import SHARED

    if not (SHARED / "corpus" / "gnad.jsonl").exists():
        pytest.skip(f"shared German data not found at {SHARED}")
    tmp = tmp_path_factory.mktemp("os")
    articles = gnad(SHARED, 800)
    records = [{"id": a["id"], "text": a["text"], "date": "2016-03-01"} for a in articles]
    records.append({"id": "copy-1", "text": articles[0]["text"], "source": "Kurier"})
    corpus = write_jsonl(tmp / "gnad.jsonl", records)
    config = Config(index=tmp / "ix", topics={"Fußball": "Fußball OR Tor"})
    out = tmp / "export"
    with NewsSearch(config.index, config) as ns:
        ns.index([corpus])
        result = CliRunner().invoke(
            cli,
            ["export", "--index", str(config.index), "--opensearch", str(out), "--chunk", "300"],
        )
        assert result.exit_code == 0, result.output
        assert "wrote 801 articles in 3 bulk files" in result.output
        hits = {h.id: h for h in ns.search("*", limit=1000).hits}
        yield out, hits, config


def test_index_definition_is_valid(exported):
    out, _, _ = exported
    definition = json.loads((out / "index.json").read_text("utf-8"))
    assert set(definition) == {"settings", "mappings"}
    analysis = definition["settings"]["analysis"]
    filters = analysis["filter"]
    for name, spec in filters.items():
        assert spec["type"] in FILTER_TYPES, name
        if spec["type"] == "stemmer":
            assert spec["language"] in STEMMER_LANGUAGES
        if spec["type"] == "dictionary_decompounder":
            words = (out / spec["word_list_path"]).read_text("utf-8").split("\n")
            assert len(words) > 50_000 and "abkommen" in words and "kooperation" in words
        if spec["type"] == "stop":
            assert "und" in spec["stopwords"] and "may" not in spec["stopwords"]
    analyzer = analysis["analyzer"]["newssearch_german"]
    assert analyzer["tokenizer"] == "standard"
    assert all(f in filters or f in BUILTIN_FILTERS for f in analyzer["filter"])
    assert "german_normalization" in analyzer["filter"]
    properties = definition["mappings"]["properties"]
    for name, spec in properties.items():
        assert spec["type"] in FIELD_TYPES, name
        if spec["type"] == "text":
            assert spec["analyzer"] in analysis["analyzer"]
    for name in (*KEYWORD_FIELDS, *ENTITY_FIELDS):
        assert properties[name]["type"] == "keyword"


def test_bulk_files_hold_every_article_once_with_its_facets(exported):
    out, hits, _ = exported
    properties = json.loads((out / "index.json").read_text("utf-8"))["mappings"]["properties"]
    seen: dict[str, dict] = {}
    files = sorted(out.glob("bulk-*.ndjson"))
    assert len(files) == 3
    for path in files:
        raw = path.read_bytes()
        assert raw.endswith(b"\n")  # the bulk API needs the last line ended
        lines = raw.decode("utf-8").split("\n")[:-1]
        assert len(lines) % 2 == 0 and len(lines) // 2 <= 300
        for action_line, source_line in zip(lines[0::2], lines[1::2], strict=True):
            action = json.loads(action_line)
            assert len(action) == 1 and set(action) <= ACTIONS
            meta = action["index"]
            assert meta["_index"] == "newssearch"
            source = json.loads(source_line)
            assert isinstance(source, dict) and meta["_id"] == source["id"]
            assert set(source) <= set(properties)
            if "date" in source:  # strict_date_optional_time: ISO 8601
                assert dt.datetime.fromisoformat(source["date"]).year == 2016
            for name in (*KEYWORD_FIELDS, *ENTITY_FIELDS):
                value = source.get(name, [])
                assert isinstance(value, str) or all(isinstance(v, str) for v in value)
            assert source["id"] not in seen
            seen[source["id"]] = source
    assert set(seen) == set(hits)
    for article_id, hit in hits.items():
        source = seen[article_id]
        assert tuple(source["topic"]) == hit.topics
        for facet in ENTITY_FIELDS:
            assert tuple(source.get(facet, ())) == hit.entities[facet]
        assert source["story"] == hit.story
    assert seen["copy-1"]["story"] == seen[gnad_first_id(seen)]["story"]
    assert sum("Fußball" in s["topic"] for s in seen.values()) > 0
    assert sum(bool(s.get("person")) for s in seen.values()) > 400


def gnad_first_id(seen: dict) -> str:
    return min(i for i in seen if i.startswith("gnad-"))


def test_export_refuses_a_folder_with_bulk_files(exported):
    out, _, config = exported
    with NewsSearch(config.index, config) as ns, pytest.raises(ExportError, match="empty folder"):
        ns.export_opensearch(out)
