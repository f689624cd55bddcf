"""The OpenAPI 3.1 description of the JSON API (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

from ..version import __version__

_ERROR = {
    "description": "An error: the status and a message saying what to do next",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "integer"},
                            "message": {"type": "string"},
                        },
                    }
                },
            }
        }
    },
}


def _param(name: str, description: str, schema: dict[str, Any], where: str = "query") -> dict:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


_STRINGS = {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 10}
_SEARCH_PARAMS = [
    _param(
        "q", "Query (Whoosh syntax; empty: every article)", {"type": "string", "maxLength": 1000}
    ),
    _param("person", "Only articles naming all these people", _STRINGS),
    _param("org", "Only articles naming all these organisations", _STRINGS),
    _param("place", "Only articles naming all these places", _STRINGS),
    _param("topic", "Only articles with all these sections/topics", _STRINGS),
    _param("source", "Only articles from any of these sources", _STRINGS),
    _param("from", "First day (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _param("to", "Last day (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _param("page", "Page of hits", {"type": "integer", "minimum": 1, "maximum": 1000}),
    _param("limit", "Hits per page", {"type": "integer", "minimum": 1, "maximum": 100}),
    _param("sort", "Ranking", {"type": "string", "enum": ["relevance", "date"]}),
    _param(
        "facets",
        "Comma-separated facets to count over all matches (topic, person, org, place, source, "
        "date) or 'all'",
        {"type": "string"},
    ),
    _param(
        "interval",
        "Bucket of the date facet",
        {"type": "string", "enum": ["auto", "year", "month", "week", "day"]},
    ),
]
_HIT = {
    "type": "object",
    "properties": {
        "rank": {"type": "integer"},
        "id": {"type": "string"},
        "title": {"type": "string"},
        "date": {"type": ["string", "null"]},
        "source": {"type": ["string", "null"]},
        "url": {"type": ["string", "null"]},
        "score": {"type": ["number", "null"]},
        "snippet": {"type": "string", "description": "matched words between ** marks"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "entities": {"type": "object", "additionalProperties": {"type": "array"}},
    },
}
_RESULT = {
    "type": "object",
    "description": "The same object as `newssearch query --json`",
    "properties": {
        "query": {"type": "string"},
        "total": {"type": "integer"},
        "page": {"type": "integer"},
        "limit": {"type": "integer"},
        "hits": {"type": "array", "items": _HIT},
        "suggestion": {"type": ["string", "null"]},
        "facets": {"type": "object", "description": "facet -> [[value, count], ...]"},
    },
}


def _ok(schema: dict[str, Any], description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_spec() -> dict[str, Any]:
    """The API description as a dict."""
    article_id = _param("id", "Article id", {"type": "string"}, "path")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newssearch",
            "version": __version__,
            "description": "Read-only search over a newssearch index of German news.",
        },
        "paths": {
            "/api/search": {
                "get": {
                    "summary": "Ranked search with filters and facets",
                    "parameters": _SEARCH_PARAMS,
                    "responses": {"200": _ok(_RESULT, "One page of hits"), "400": _ERROR},
                }
            },
            "/api/articles/{id}": {
                "get": {
                    "summary": "One article with its topics, entities and their mentions",
                    "parameters": [article_id],
                    "responses": {"200": _ok({"type": "object"}, "The article"), "404": _ERROR},
                }
            },
            "/api/articles/{id}/similar": {
                "get": {
                    "summary": "Articles related to one article",
                    "parameters": [
                        article_id,
                        _param(
                            "limit", "How many", {"type": "integer", "minimum": 1, "maximum": 100}
                        ),
                    ],
                    "responses": {"200": _ok(_RESULT, "Related articles"), "404": _ERROR},
                }
            },
            "/api/entities": {
                "get": {
                    "summary": "The most frequent people, organisations and places",
                    "parameters": [
                        _param(
                            "label",
                            "PER, ORG, LOC (comma-separated; default all three)",
                            {"type": "string"},
                        ),
                        _param(
                            "top",
                            "Names per kind",
                            {"type": "integer", "minimum": 1, "maximum": 200},
                        ),
                    ],
                    "responses": {
                        "200": _ok(
                            {"type": "object", "description": "facet -> [{name, articles}]"},
                            "Names by article count",
                        ),
                        "400": _ERROR,
                    },
                }
            },
            "/api/entities/{facet}/{name}": {
                "get": {
                    "summary": "One entity: articles over time and the names most often beside it",
                    "parameters": [
                        _param("facet", "person, org or place", {"type": "string"}, "path"),
                        _param("name", "The name (any spelling)", {"type": "string"}, "path"),
                    ],
                    "responses": {"200": _ok({"type": "object"}, "The profile"), "404": _ERROR},
                }
            },
        },
    }
