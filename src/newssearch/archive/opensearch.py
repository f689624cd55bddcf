"""Export for OpenSearch/Elasticsearch: an index definition and bulk NDJSON of every article.

The index definition (``index.json``: settings and mappings) imitates the embedded German
analysis as far as those engines allow: their German normalisation and stemmer, the stop words
we use, and a dictionary decompounder fed with the shipped noun lexicon (``analysis/...``, a
file to copy into each node's config folder). Entities, sections, user topics, sources and
stories become keyword fields. The bulk files hold ``index`` actions in chunks a cluster
accepts. See docs/ingest.md for loading them and for what differs from the embedded engine.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from whoosh.searching import Searcher

from ..config import AnalysisConfig
from ..errors import ExportError
from ..index.columns import column_lookup
from ..index.schema import entities_by_facet, from_stored, split_topics
from ..models import iso, plural
from ..query.facets import EntityMap
from ..text.analysis import german_stopwords
from .resolve import canonical_entities

#: Where the decompounder's word list goes, relative to the export folder and to a node's
#: config folder (OpenSearch reads ``word_list_path`` relative to its config directory).
WORD_LIST = "analysis/newssearch_nouns_de.txt"
#: Bulk chunks: at most this many articles and about this many bytes (clusters take 100 MB
#: requests by default; 5-15 MB bulk requests are the usual advice).
CHUNK_ARTICLES = 2_000
CHUNK_BYTES = 8_000_000
KEYWORD_FIELDS = ("source", "author", "section", "predicted_section", "topic", "story")
ENTITY_FIELDS = ("person", "org", "place")


@dataclass
class ExportReport:
    """What an OpenSearch export wrote."""

    directory: str
    index_name: str
    articles: int = 0
    files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal."""
        bulk = plural(len(self.files) - 2, "bulk file")
        return (
            f"wrote {plural(self.articles, 'article')} in {bulk}, the index definition and the "
            f"decompounder's word list to {self.directory}"
        )


def index_definition(analysis: AnalysisConfig) -> dict[str, Any]:
    """Settings and mappings for an OpenSearch/Elasticsearch index of newssearch articles."""
    filters: dict[str, Any] = {}
    chain = ["lowercase"]
    if analysis.stopwords == "german":
        filters["newssearch_stop"] = {"type": "stop", "stopwords": sorted(german_stopwords())}
        chain.append("newssearch_stop")
    if analysis.decompound:
        filters["newssearch_decompound"] = {
            "type": "dictionary_decompounder",
            "word_list_path": WORD_LIST,
            "min_subword_size": 4,
            "only_longest_match": True,
        }
        chain.append("newssearch_decompound")
    if analysis.umlauts == "fold":
        chain.append("german_normalization")
    if analysis.stemmer != "none":
        # Snowball's German stemmer is ours too; CISTEM has no counterpart there
        language = "german" if analysis.stemmer == "snowball" else "light_german"
        filters["newssearch_stem"] = {"type": "stemmer", "language": language}
        chain.append("newssearch_stem")
    keyword = {"type": "keyword"}
    return {
        "settings": {
            "analysis": {
                "filter": filters,
                "analyzer": {
                    "newssearch_german": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": chain,
                    }
                },
            }
        },
        "mappings": {
            "dynamic": False,
            "properties": {
                "id": keyword,
                "title": {"type": "text", "analyzer": "newssearch_german"},
                "body": {"type": "text", "analyzer": "newssearch_german"},
                "date": {"type": "date", "format": "strict_date_optional_time"},
                "url": {"type": "keyword", "index": False},
                **{name: keyword for name in KEYWORD_FIELDS},
                **{name: keyword for name in ENTITY_FIELDS},
                "extra": {"type": "object", "enabled": False},
            },
        },
    }


def word_list() -> list[str]:
    """The decompounder's words: the shipped lexicon's nouns (base forms of 4+ letters)."""
    path = resources.files("newssearch").joinpath("data/lexicon_de.tsv.gz")
    words = set()
    with gzip.open(str(path), "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            form, _, lemma = line.rstrip("\n").partition("\t")
            word = lemma or form
            if len(word) >= 4:
                words.add(word)
    return sorted(words)


def documents(searcher: Searcher, entity_map: EntityMap | None = None) -> Iterator[dict[str, Any]]:
    """Every live article of the index as an OpenSearch source document (canonical names)."""
    reader = searcher.reader()
    topics = column_lookup(reader, "topic_facet")
    for docnum, fields in reader.iter_docs():
        article = from_stored(fields)
        entities = entities_by_facet(fields)
        if entity_map is not None:
            entities = canonical_entities(entities, entity_map)
        predicted, user = split_topics(topics(docnum) or b"")
        doc: dict[str, Any] = {
            "id": article.id,
            "title": article.title,
            "body": article.text,
            "date": iso(article.date),
            "url": article.url,
            "source": article.source,
            "author": article.author,
            "section": article.section,
            "predicted_section": predicted or None,
            "topic": [t for t in (predicted, *user) if t],
            "story": fields.get("story") or article.id,
            **{facet: list(names) for facet, names in entities.items()},
        }
        if article.extra:
            doc["extra"] = dict(article.extra)
        yield {k: v for k, v in doc.items() if v is not None}


def export(
    searcher: Searcher,
    analysis: AnalysisConfig,
    directory: Path,
    index_name: str = "newssearch",
    chunk_articles: int = CHUNK_ARTICLES,
    entity_map: EntityMap | None = None,
) -> ExportReport:
    """Write index.json, the word list and bulk-NNNN.ndjson files into ``directory``."""
    directory = Path(directory)
    if directory.exists() and any(directory.glob("bulk-*.ndjson")):
        raise ExportError(
            f"{directory} already holds bulk files of an export: choose an empty folder"
        )
    if chunk_articles < 1:
        raise ExportError("the chunk size must be 1 or more articles")
    (directory / "analysis").mkdir(parents=True, exist_ok=True)
    report = ExportReport(str(directory), index_name)
    definition = directory / "index.json"
    definition.write_text(json.dumps(index_definition(analysis), indent=2), "utf-8")
    (directory / WORD_LIST).write_text("\n".join(word_list()) + "\n", "utf-8")
    report.files += [str(definition), str(directory / WORD_LIST)]
    out = None
    in_chunk = size = 0
    try:
        for doc in documents(searcher, entity_map):
            action = json.dumps({"index": {"_index": index_name, "_id": doc["id"]}})
            source = json.dumps(doc, ensure_ascii=False)
            lines = f"{action}\n{source}\n".encode()
            if out is None or in_chunk >= chunk_articles or size + len(lines) > CHUNK_BYTES:
                if out is not None:
                    out.close()
                path = directory / f"bulk-{len(report.files) - 1:04d}.ndjson"
                out = open(path, "wb")  # noqa: SIM115 (closed when the chunk is full)
                report.files.append(str(path))
                in_chunk = size = 0
            out.write(lines)
            in_chunk += 1
            size += len(lines)
            report.articles += 1
    finally:
        if out is not None:
            out.close()
    return report
