"""The Whoosh schema and the conversion between Articles and index documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Mapping

from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema

from .analysis import build_analyzer, build_keyword_analyzer
from .config import AnalysisConfig
from .models import Article

#: Bump when the schema or the stored layout changes: old indexes must then be rebuilt.
FORMAT_VERSION = 2


def build_schema(analysis: AnalysisConfig) -> Schema:
    """The index schema for the given analysis settings."""
    text = build_analyzer(analysis)
    keyword = build_keyword_analyzer()
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        # multitoken "and": a hyphenated or compound query word needs all its parts
        title=TEXT(analyzer=text, stored=True, multitoken_query="and"),
        body=TEXT(analyzer=text, stored=True, multitoken_query="and"),
        date=DATETIME(stored=True, sortable=True),
        source=TEXT(analyzer=keyword, stored=True),
        author=TEXT(analyzer=keyword, stored=True),
        section=TEXT(analyzer=keyword, stored=True),
        url=ID(stored=True),
        # the source exactly as given, for facet counts and filters (a column, same commit)
        source_facet=ID(sortable=True),
        # content hash: lets a re-run skip unchanged records without reading stored text
        hash=ID(stored=True, sortable=True),
        extra=STORED(),
    )


def content_hash(article: Article) -> str:
    """A stable fingerprint of everything stored for an article."""
    payload = json.dumps(article.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=12).hexdigest()


def to_document(article: Article, digest: str) -> dict[str, Any]:
    """The Whoosh document for an article (missing values are left out, not stored as None)."""
    doc: dict[str, Any] = {"id": article.id, "body": article.text, "hash": digest}
    for key in ("title", "date", "source", "author", "section", "url"):
        value = getattr(article, key)
        if value is not None:
            doc[key] = value
    if article.source:
        doc["source_facet"] = article.source
    if article.extra:
        doc["extra"] = json.dumps(dict(article.extra), ensure_ascii=False, default=str)
    return doc


def from_stored(fields: Mapping[str, Any]) -> Article:
    """Rebuild the Article from a document's stored fields."""
    date = fields.get("date")
    return Article(
        id=fields["id"],
        text=fields.get("body", ""),
        title=fields.get("title"),
        date=date if isinstance(date, dt.datetime) else None,
        source=fields.get("source"),
        url=fields.get("url"),
        author=fields.get("author"),
        section=fields.get("section"),
        extra=json.loads(fields["extra"]) if fields.get("extra") else {},
    )
