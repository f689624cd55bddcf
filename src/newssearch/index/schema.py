"""The Whoosh schema and the conversion between Articles and index documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from whoosh.analysis import IDTokenizer
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Existence, Positions
from whoosh.util.times import datetime_to_long

from ..config import AnalysisConfig
from ..models import Article
from ..text.analysis import build_keyword_analyzer, index_positions, shared_analyzer
from ..text.names import name_key

#: Bump when the schema or the stored layout changes: old indexes must then be rebuilt.
FORMAT_VERSION = 6


class Analyzed:
    """A text field's value with its terms already made by the field's analyzer (in a worker).

    Whoosh analyses every indexed field while adding the document, in the one process that
    writes; the enrichment workers can make the terms of the two long fields instead
    (:func:`analyze`), which takes that work off the writing process.
    """

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[bytes, int, float, bytes]]) -> None:
        self.items = items


class GermanText(TEXT):
    """A TEXT field that also takes an :class:`Analyzed` value: its terms as made elsewhere."""

    def index(self, value, **kwargs):
        """Terms of ``value``: Whoosh's (bytes, frequency, weight, encoded positions) tuples."""
        if isinstance(value, Analyzed):
            return iter(value.items)
        if isinstance(value, str) and not kwargs:
            return iter(_terms(self, value))
        return super().index(value, **kwargs)


class _Remembering:
    """A field mixin: the terms of a value seen before are reused (sources, topics, dates repeat).

    Whoosh analyses every field value of every document in the one writing process; for these
    short, repeating values that is most of its per-document field work. The memo is not part
    of the pickled schema.
    """

    #: values whose terms a field keeps
    MEMO_SIZE = 20_000

    def index(self, value, **kwargs):
        """Whoosh's terms of ``value``, made once per distinct value."""
        if kwargs or not isinstance(value, str):
            return super().index(value, **kwargs)
        return self._remember(value, super().index)

    def _remember(self, value, make):
        memo = self.__dict__.setdefault("_memo", {})
        terms = memo.get(value)
        if terms is None:
            terms = list(make(value))
            if len(memo) < self.MEMO_SIZE:
                memo[value] = terms
        return iter(terms)

    def __getstate__(self):
        return {k: v for k, v in super().__getstate__().items() if k != "_memo"}


class RepeatedText(_Remembering, TEXT):
    """A TEXT field for short repeating values (source, author, names); see _Remembering."""


class RepeatedKeyword(_Remembering, KEYWORD):
    """A KEYWORD field for repeating values (topics): see :class:`_Remembering`."""


class RepeatedID(_Remembering, ID):
    """An ID field for repeating values (the source as given): see :class:`_Remembering`."""


class UniqueID(ID):
    """An ID field (id, hash) whose one term is the value itself, made without Whoosh's tokens."""

    def index(self, value, **kwargs):
        """Whoosh's (bytes, frequency, weight, value) tuple of the whole value."""
        if (
            kwargs
            or not isinstance(value, str)
            or type(self.analyzer) is not IDTokenizer
            or type(self.format) is not Existence
        ):
            return super().index(value, **kwargs)
        return iter([(value.encode("utf-8"), 1, self.format.field_boost, b"")])


class NewsDate(_Remembering, DATETIME):
    """A DATETIME field that converts a date to its number once, not once per numeric tier.

    Whoosh indexes a date as eight terms (one per ``shift_step`` tier for fast ranges) and
    converts the datetime again for each (a tenth of the writing process's time on headlines);
    dates repeat too (a day's news). The terms are Whoosh's.
    """

    def index(self, value, **kwargs):
        """The date's tier terms: Whoosh's (bytes, frequency, weight, value) tuples."""
        if kwargs or not isinstance(value, dt.datetime) or not self.shift_step:
            return DATETIME.index(self, value, **kwargs)
        return self._remember(value, self._tiers)

    def _tiers(self, value: dt.datetime) -> list[tuple[bytes, int, float, bytes]]:
        number = datetime_to_long(value)
        return [
            (NUMERIC.to_bytes(self, number, shift), 1, 1.0, b"")
            for shift in range(0, self.bits, self.shift_step)
        ]


def build_schema(analysis: AnalysisConfig) -> Schema:
    """The index schema for the given analysis settings."""
    text = shared_analyzer(analysis)
    keyword = build_keyword_analyzer()
    return Schema(
        id=UniqueID(stored=True, unique=True, sortable=True),
        # multitoken "and": a hyphenated or compound query word needs all its parts
        title=GermanText(analyzer=text, stored=True, multitoken_query="and"),
        body=GermanText(analyzer=text, stored=True, multitoken_query="and"),
        date=NewsDate(stored=True, sortable=True),
        source=RepeatedText(analyzer=keyword, stored=True),
        author=RepeatedText(analyzer=keyword, stored=True),
        section=RepeatedText(analyzer=keyword, stored=True),
        url=ID(stored=True),
        # the source exactly as given, for facet counts and filters (a column, same commit)
        source_facet=RepeatedID(sortable=True),
        # content hash: lets a re-run skip unchanged records without reading stored text
        hash=UniqueID(stored=True, sortable=True),
        extra=STORED(),
        # predicted section + user topics: searchable (topic:wirtschaft) and filterable ...
        topic=RepeatedKeyword(commas=True, lowercase=True, scorable=False, stored=True),
        # ... and as written, for facet counts (section first, then user topics; TOPIC_SEP-joined)
        topic_facet=COLUMN(VarBytesColumn()),
        # entity names by kind, searchable word by word (person:putin) and stored ...
        person=RepeatedText(analyzer=keyword, stored=True),
        org=RepeatedText(analyzer=keyword, stored=True),
        place=RepeatedText(analyzer=keyword, stored=True),
        # ... as exact keys for filters ("per:wladimir putin") ...
        entity=KEYWORD(commas=True, scorable=False),
        # ... and as written, for facet counts ("PER:Wladimir Putin", ENTITY_SEP-joined)
        entity_facet=COLUMN(VarBytesColumn()),
        # wire copies: the story's id (its first article's id), for collapsing and counting ...
        story=ID(stored=True, sortable=True),
        # ... and its MinHash signature (its band keys: index/storykeys.py)
        minhash=COLUMN(VarBytesColumn()),
    )


TOPIC_SEP = "\x1f"


def topic_fields(section: str | None, user_topics: list[str]) -> dict[str, Any]:
    """The document fields for an article's section and user topics."""
    values = [section or "", *user_topics]
    fields: dict[str, Any] = {"topic_facet": TOPIC_SEP.join(values).encode("utf-8")}
    if any(values):
        fields["topic"] = ",".join(v for v in values if v)
    return fields


def split_topics(raw: bytes) -> tuple[str, list[str]]:
    """(section, user topics) from a ``topic_facet`` column value ("" when there is no section)."""
    if not raw:
        return "", []
    section, *user = raw.decode("utf-8").split(TOPIC_SEP)
    return section, user


#: entity label -> the facet/field that holds it
ENTITY_FIELDS = {"PER": "person", "ORG": "org", "LOC": "place"}
FIELD_LABELS = {v: k for k, v in ENTITY_FIELDS.items()}
ENTITY_SEP = "\x1f"


def entity_fields(entities: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The document fields for an article's distinct (label, name) entities."""
    fields: dict[str, Any] = {}
    if not entities:
        return fields
    for label, field in ENTITY_FIELDS.items():
        names = [name for lab, name in entities if lab == label]
        if names:
            fields[field] = "\n".join(names)
    fields["entity"] = ",".join(entity_term(label, name_key(name)) for label, name in entities)
    fields["entity_facet"] = ENTITY_SEP.join(f"{label}:{name}" for label, name in entities).encode(
        "utf-8"
    )
    return fields


def entity_term(label: str, name_key: str) -> str:
    """The ``entity`` field term for a label and a normalised name key."""
    return f"{label.lower()}:{name_key.replace(',', ' ')}"


def split_entities(raw: bytes) -> list[tuple[str, str]]:
    """(label, name) pairs from an ``entity_facet`` column value."""
    if not raw:
        return []
    return [(item[:3], item[4:]) for item in raw.decode("utf-8").split(ENTITY_SEP)]


def stored_entities(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An indexed document's (label, name) entities from its stored fields."""
    return [
        (FIELD_LABELS[facet], name)
        for facet, names in entities_by_facet(fields).items()
        for name in names
    ]


def entities_by_facet(fields: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """{"person": names, "org": names, "place": names} from a document's stored fields."""
    return {
        f: tuple(n for n in (fields.get(f) or "").split("\n") if n) for f in ENTITY_FIELDS.values()
    }


def content_hash(article: Article) -> str:
    """A stable fingerprint of everything stored for an article."""
    payload = json.dumps(article.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=12).hexdigest()


#: The fields whose terms :func:`analyze` can make ahead of writing.
ANALYZED_FIELDS = ("title", "body")


@lru_cache(maxsize=4)
def schema_for(analysis: AnalysisConfig) -> Schema:
    """The index schema for ``analysis``, built once per process."""
    return build_schema(analysis)


def analyze(
    title: str | None, body: str, analysis: AnalysisConfig
) -> tuple[Analyzed | None, Analyzed]:
    """The title's and the body's terms as the index schema for ``analysis`` makes them."""
    schema = schema_for(analysis)
    body_terms = Analyzed(_terms(schema["body"], body))
    if title is None:
        return None, body_terms
    # the same analyzer: a body that repeats the title (a headline-only record) is analysed once
    return body_terms if title == body else Analyzed(_terms(schema["title"], title)), body_terms


def _terms(field: TEXT, value: str) -> list[tuple[bytes, int, float, bytes]]:
    """What ``field.index(value)`` yields, made by :func:`analysis.index_positions` when it can."""
    fmt = field.format
    positions = index_positions(field.analyzer, value) if type(fmt) is Positions else None
    if positions is None:
        return list(TEXT.index(field, value))
    # Whoosh's Positions.word_values: weight = sum of token boosts (1.0 each) x field boost
    boost, encode, single = fmt.field_boost, fmt.encode, _SINGLE_POSITION
    return [
        (
            term.encode("utf-8"),
            len(at),
            float(len(at)) * boost,
            (single.get(at[0]) or _encode_single(encode, at[0])) if len(at) == 1 else encode(at),
        )
        for term, at in positions.items()
    ]


#: Positions.encode([p]) by p: most of a text's terms occur once, at positions seen before
_SINGLE_POSITION: dict[int, bytes] = {}


def _encode_single(encode, position: int) -> bytes:
    value = encode([position])
    if position < 100_000:
        _SINGLE_POSITION[position] = value
    return value


def to_document(
    article: Article,
    digest: str,
    section: str | None = None,
    user_topics: list[str] | None = None,
    entities: Sequence[tuple[str, str]] = (),
    terms: tuple[Analyzed | None, Analyzed] | None = None,
    story: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Whoosh document for an article (missing values are left out, not stored as None).

    ``terms``: the title's and body's terms from :func:`analyze`, if made ahead; ``story``: the
    story fields from :mod:`enrich.stories` (default: a story of its own).
    """
    doc: dict[str, Any] = {"id": article.id, "body": article.text, "hash": digest}
    doc.update(story or {"story": article.id})
    doc.update(topic_fields(section, user_topics or []))
    doc.update(entity_fields(entities))
    for attr in ("title", "date", "source", "author", "section", "url"):
        value = getattr(article, attr)
        if value is not None:
            doc[attr] = value
    if article.source:
        doc["source_facet"] = article.source
    if article.extra:
        doc["extra"] = json.dumps(dict(article.extra), ensure_ascii=False, default=str)
    if terms is not None:
        for name, analyzed in zip(ANALYZED_FIELDS, terms, strict=False):
            if analyzed is not None:
                doc["_stored_" + name] = doc[name]  # Whoosh stores this, indexes the terms
                doc[name] = analyzed
    return doc


def stored_topics(fields: Mapping[str, Any]) -> tuple[str, ...]:
    """An indexed document's topics (section first) from its stored fields."""
    return tuple(t for t in (fields.get("topic") or "").split(",") if t)


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
