"""Querying: the German query parser, ranked search, snippets."""

from __future__ import annotations

import copy
import re
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.collectors import TimeLimit, TimeLimitCollector, WrappingCollector
from whoosh.matching import CoordMatcher, ListMatcher
from whoosh.qparser import (
    AndGroup,
    GtLtPlugin,
    MultifieldPlugin,
    OrGroup,
    PhrasePlugin,
    QueryParser,
)
from whoosh.qparser.common import attach
from whoosh.query.compound import DefaultOr
from whoosh.reading import ReaderClosed
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.support.levenshtein import distance

from .. import caches
from .._whoosh_fast import vector, warn_fallback
from .._whoosh_fast.columns import live_docnums
from ..config import SEARCH_FIELDS, SORTS, SearchConfig
from ..errors import ArticleNotFoundError, QueryError
from ..index.schema import entities_by_facet, from_stored, stored_topics
from ..models import Hit, SearchResult, first_sentence, iso
from ..text.analysis import index_positions
from . import collapse as folding
from . import facets, lenient

#: Longer query texts are refused (a pasted article is not a query; use similar()).
MAX_QUERY_CHARS = 10_000
#: Opening and closing marks around matched words in snippets.
MARK = ("**", "**")
_TYPOGRAPHIC_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "»": '"', "«": '"'})


class StableCoordMatcher(CoordMatcher):
    """Whoosh's CoordMatcher with the query's term count fixed for the whole search.

    Whoosh recounts the terms whenever the matcher tree shrinks (a term's postings run out),
    so the same document could score differently depending on where it lies in the index,
    and a count of one term left scores every later document 0 (or divides by zero).
    """

    def __init__(self, child, scale: float = 1.0, termcount: int | None = None) -> None:
        super().__init__(child, scale=scale)
        if termcount is not None:
            self._termcount = termcount

    def _replacement(self, newchild):
        return self.__class__(newchild, scale=self._scale, termcount=self._termcount)

    def _sqr(self, score: float, matching: int) -> float:
        if self._termcount <= 1 or self._termcount == self._scale:
            return score
        return super()._sqr(score, matching)


class CoordOr(wq.Or):
    """OR with the coordination bonus of :class:`StableCoordMatcher` instead of Whoosh's own.

    Whoosh's ``Or(scale=...)`` hard-wires its CoordMatcher, which multiplies scores by
    (terms - 1) / terms: 0 when a single term is left, so hits would rank arbitrarily.
    """

    def matcher(self, searcher, context=None):
        m = DefaultOr(self.subqueries, boost=self.boost, minmatch=self.minmatch).matcher(
            searcher, context
        )
        return StableCoordMatcher(m, scale=self.scale) if self.scale else m


class CoordOrGroup(OrGroup):
    """The parser group for plain words: :class:`CoordOr` (use :meth:`with_scale`)."""

    qclass = CoordOr

    @classmethod
    def with_scale(cls, scale: float) -> type:
        """A group class whose queries carry this coordination factor.

        (``OrGroup.factory`` would do, but it always builds a plain ``Or``.)
        """

        class Scaled(cls):  # type: ignore[valid-type, misc]
            def __init__(self, nodes=None, **kwargs):
                kwargs.pop("scale", None)
                super().__init__(nodes=nodes, scale=scale, **kwargs)

        return Scaled


class GermanPhrasePlugin(PhrasePlugin):
    """Phrases analysed in "phrase" mode: compounds stay whole, hyphenated words give their parts.

    Documents hold a compound's parts at the compound's own position, so a phrase must use the
    whole word to keep its words consecutive; Whoosh's own plugin analyses phrases like terms.
    """

    class PhraseNode(PhrasePlugin.PhraseNode):
        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            field = (
                parser.schema[fieldname] if parser.schema and fieldname in parser.schema else None
            )
            if field is None or not field.analyzer:
                return super().query(parser)
            words, ranges = [], []
            for t in field.tokenize(self.text, mode="phrase", chars=True):
                words.append(t.text)
                ranges.append((self.textstartchar + t.startchar, self.textstartchar + t.endchar))
            q = parser.phraseclass(
                fieldname, words, slop=self.slop, boost=self.boost, char_ranges=ranges
            )
            return attach(q, self)

    class PhraseTagger(PhrasePlugin.PhraseTagger):
        def create(self, parser, match):
            slop = match.group("slop")
            return GermanPhrasePlugin.PhraseNode(
                match.group("text"), match.start("text"), int(slop) if slop else 1
            )

    def taggers(self, parser):
        return [(self.PhraseTagger(self.expr), 0)]


class GermanQueryParser(QueryParser):
    """Whoosh's multi-field parser (as ``MultifieldParser`` builds it) that remembers its fields."""

    def __init__(
        self, fieldnames: Sequence[str], schema, fieldboosts: dict[str, float], **kwargs
    ) -> None:
        super().__init__(None, schema, **kwargs)
        self.add_plugin(MultifieldPlugin(fieldnames, fieldboosts=fieldboosts))
        self.fieldnames, self.fieldboosts = list(fieldnames), dict(fieldboosts)

    #: The index's reader, when set: lets names in the genitive meet their base form.
    reader: Any = None

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
        """Whoosh's term query, with a name's other form ("Trumps" / "Trump") as an alternative
        when the index has it."""
        q = super().term_query(fieldname, text, termclass, boost, tokenize, removestops)
        if q is None or not tokenize or self.reader is None:
            return q
        other = self._other_form(fieldname, text)
        if other is None:
            return q
        return wq.Or([q, termclass(fieldname, other, boost=boost * GENITIVE)])

    def _other_form(self, fieldname: str, word: str) -> str | None:
        """The term of ``word`` without/with a final -s when that is a name the index knows.

        Snowball leaves the -s after vowels and some consonants ("Trumps", "Obamas"), and the
        decompounder may split such a name ("Randalls" -> rand + all).
        """
        if fieldname not in self.schema or len(word) < 4 or not word[0].isupper():
            return None
        field = self.schema[fieldname]
        if not field.analyzer:
            return None
        frequency = self.reader.doc_frequency
        mine = list(field.process_text(word, mode="query"))
        if word.endswith("s") and not word.endswith("ss"):
            other = list(field.process_text(word[:-1], mode="query"))
            if len(other) != 1 or (mine != [other[0] + "s"] and len(mine) < 2):
                return None
            base = frequency(fieldname, other[0])
            if base and all(base >= frequency(fieldname, t) for t in mine):
                return other[0]  # "Trumps" -> trump: the name is more frequent than the form
            return None
        other = list(field.process_text(word + "s", mode="query"))
        if len(mine) == 1 and other == [mine[0] + "s"] and frequency(fieldname, other[0]):
            return other[0]  # "Trump" -> trumps
        return None

    def multitoken_query(self, spec, texts, fieldname, termclass, boost):
        """A compound's or hyphenated word's parts as alternatives, not all required.

        The whole compound ranks first by :func:`_compound_bonus`; requiring every part lost
        passages that use one of them (docs/ranking.md).
        """
        if spec == "and":
            return wq.Or([termclass(fieldname, t, boost=boost) for t in texts])
        return super().multitoken_query(spec, texts, fieldname, termclass, boost)


#: Weight of a name's other form ("Trumps" for "Trump") beside the form typed: both count
#: when an article has both, so the other one counts half.
GENITIVE = 0.5


def build_parser(
    schema, config: SearchConfig, fields: Sequence[str] | None = None
) -> GermanQueryParser:
    """The query parser: Whoosh syntax over ``fields`` (default title + body) with config boosts."""
    fields = list(fields or ("title", "body"))
    unknown = [f for f in fields if f not in SEARCH_FIELDS]
    if unknown:
        raise QueryError(
            f"cannot search field '{unknown[0]}': choose from {', '.join(SEARCH_FIELDS)}"
        )
    if config.operator == "and":
        group = AndGroup
    else:
        group = CoordOrGroup.with_scale(config.coord) if config.coord > 0 else OrGroup
    boosts = {f: config.boosts.get(f, 1.0) for f in fields}
    parser = GermanQueryParser(fields, schema, fieldboosts=boosts, group=group)
    parser.add_plugin(GtLtPlugin())
    parser.remove_plugin_class(PhrasePlugin)
    parser.add_plugin(GermanPhrasePlugin())
    return parser


def check_syntax(text: str) -> str:
    """Normalise typographic quotes; reject unbalanced quotes, brackets and dangling operators."""
    text = text.translate(_TYPOGRAPHIC_QUOTES)
    if not text.strip():
        raise QueryError("the query is empty: give some words to search for")
    if text.count('"') % 2:
        raise QueryError('unbalanced quote in the query: close the phrase with a second "')
    outside = re.sub(r'"[^"]*"', " phrase ", text)  # a phrase is a word to the operators
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in outside:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            if not stack or stack[-1] != pairs[char]:
                raise QueryError(
                    f"unbalanced '{char}' in the query: "
                    f"remove it or add the opening '{pairs[char]}'"
                )
            stack.pop()
    if stack:
        closing = {v: k for k, v in pairs.items()}[stack[-1]]
        raise QueryError(f"unbalanced '{stack[-1]}' in the query: close it with '{closing}'")
    words = outside.replace("(", " ").replace(")", " ").split()
    if words and words[-1] in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"):
        raise QueryError(f"'{words[-1]}' at the end of the query needs a word after it")
    if words and words[0] in ("AND", "OR", "ANDNOT", "ANDMAYBE"):
        raise QueryError(f"'{words[0]}' at the start of the query needs a word before it")
    return text


def read_query(
    parser: GermanQueryParser, text: str, strict: bool = False
) -> tuple[wq.Query | None, str | None]:
    """The query for ``text`` and a notice of how it was read (None when read as typed).

    By default slips are read leniently (see :mod:`newssearch.query.lenient`); the query is None
    when nothing searchable is left. ``strict`` raises QueryError for them instead.
    """
    if strict:
        return parse(parser, text), None
    tidied, notes = lenient.tidy(
        text,
        fields=set(parser.schema.names()) | {"*"},
        is_date=lambda clause: _is_date(parser, clause),
        max_chars=MAX_QUERY_CHARS,
    )
    q = None
    if tidied:
        try:
            q = parse(parser, tidied)
        except QueryError:
            tidied = lenient.plain_words(tidied)
            notes.append("the query syntax could not be read: the words were searched alone")
            try:
                q = parse(parser, tidied) if tidied else None
            except QueryError:
                q = None
    if q is None:
        return None, "; ".join([*notes, "nothing is left to search for: type some words"])
    return q, ("; ".join(notes) + f". Searched for: {tidied}") if notes else None


def _is_date(parser: GermanQueryParser, clause: str) -> bool:
    """Whether a ``date:...`` clause parses to a date query."""
    try:
        parsed = parser.parse(clause)
    except Exception:  # Whoosh raises assorted errors for bad field values
        return False
    return _reads_dates(parsed)


def _reads_dates(q: wq.Query) -> bool:
    """Whether ``q`` has date clauses and all are date ranges (date:"x" is a useless term)."""
    dates = [sub for sub in _all_queries(q) if getattr(sub, "fieldname", None) == "date"]
    return bool(dates) and all(isinstance(sub, wq.NumericRange) for sub in dates)


def parse(parser: GermanQueryParser, text: str) -> wq.Query:
    """Parse ``text`` strictly or raise QueryError with a message a user can act on."""
    text = check_syntax(text)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
        )
    if re.fullmatch(r"[\s()*]*\*[\s()*]*", text):  # *, **, (*), * *: not a wildcard per field
        # every article (to browse by filters and facets); Whoosh's parser would ask for every
        # article with some term in each searched field, looking up all the field's terms
        # (slow on a large index)
        return AllArticles()
    try:
        parsed = parser.parse(text)
    except RecursionError:
        raise QueryError("the query is nested too deeply") from None
    except Exception as exc:  # Whoosh raises assorted errors for bad field values (dates)
        raise QueryError(f"cannot parse the query {text!r}: {exc}") from None
    parsed = _compound_bonus(parser, text, _apply_negations(parsed))
    if re.search(r"(^|[\s(])date:", text) and not _reads_dates(parsed):
        raise QueryError(
            "cannot read the date in the query: use date:2015, date:2015-06, date:2015-06-30, "
            "date:[2015-01-01 to 2015-12-31] or date:>2015-06"
        )
    _check_terms(parser.schema, parsed)
    if any(_every_field(sub) for sub in _all_queries(parsed)):
        parsed = parsed.accept(lambda sub: AllArticles() if _every_field(sub) else sub)
        # "x NOT *" excludes every article; Whoosh's own AndNot lets x through
        parsed = parsed.accept(
            lambda sub: (
                wq.NullQuery if isinstance(sub, wq.AndNot) and type(sub.b) is AllArticles else sub
            )
        )
    return parsed


class AllArticles(wq.Every):
    """Every article (``*``): Whoosh's Every, with its document list made in one array step.

    Whoosh's ``Every`` lists the documents through a generator asking ``is_deleted`` once per
    document, which on a large index costs more than the rest of a filtered ``*`` search.
    """

    def matcher(self, searcher, context=None):
        """A ListMatcher over the searcher's undeleted documents (Whoosh's Every's matcher)."""
        ids = array("I")
        ids.frombytes(live_docnums(searcher.reader()).astype(np.uint32).tobytes())
        return ListMatcher(ids, all_weights=self.boost)


def _every_field(q: wq.Query) -> bool:
    """A bare ``*`` (every field's Every): means every article, not each field's every posting."""
    return (
        isinstance(q, wq.Or)
        and bool(q.subqueries)
        and all(
            type(s) is wq.Every or (type(s) is wq.Wildcard and set(s.text) == {"*"})
            for s in q.subqueries
        )
    )


def _check_terms(schema, q: wq.Query) -> None:
    """A term Whoosh would convert only while searching (a date, a number): convert it now."""
    for sub in _all_queries(q):
        fieldname, text = getattr(sub, "fieldname", None), getattr(sub, "text", None)
        if not isinstance(text, str) or fieldname not in schema:
            continue
        field = schema[fieldname]
        if not hasattr(field, "prepare_number") and not hasattr(field, "_parse_datestring"):
            continue
        try:
            field.to_bytes(text)
        except Exception:
            raise QueryError(
                f"cannot read {text!r} in {fieldname}:{text}: use date:2015, date:2015-06, "
                "date:2015-06-30, date:[2015-01-01 to 2015-12-31] or date:>2015-06"
            ) from None


#: Weight of the whole compound next to its parts: enough to rank the exact compound first, small
#: enough that natural-language queries do not overweight their compounds (docs/analysis.md).
COMPOUND_BONUS = 0.25


def _compound_bonus(parser: GermanQueryParser, text: str, q: wq.Query) -> wq.Query:
    """Rank the exact compound above its parts met separately.

    A compound query word is searched as its parts, all required ("Kooperationsabkommen" finds
    "Abkommen zur Kooperation" too); the whole word, when an article has it, adds to the score.
    """
    # only plain words: a compound inside quotes or after a field name is not looked for alone
    text = re.sub(r'"[^"]*"', " ", text)
    text = re.sub(r"[\w*]+:(?:\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|\S+)", " ", text)
    bonus = []
    for fieldname in parser.fieldnames:
        field = parser.schema[fieldname]
        if not field.analyzer:
            continue
        wholes = set(field.process_text(text, mode="phrase")) - set(
            field.process_text(text, mode="query")
        )
        boost = parser.fieldboosts.get(fieldname, 1.0) * COMPOUND_BONUS
        bonus += [wq.Term(fieldname, w, boost=boost) for w in sorted(wholes)]
    if not bonus or not isinstance(q, wq.Or):
        return q  # only plain OR queries: the bonus terms must not widen AND/NOT logic
    # Optional extra clauses of the OR: articles with the whole word also hold its parts, so the
    # set of matches stays the same. (Whoosh's AndMaybe would say this directly, but its
    # block-quality skipping loops forever under a CoordMatcher.)
    q = copy.copy(q)
    q.subqueries = list(q.subqueries) + bonus
    return q


def _apply_negations(q: wq.Query) -> wq.Query:
    """Make NOT exclude from an OR group ("a OR b NOT c" = (a OR b) without c), as users expect.

    Whoosh alone reads it as "a OR b OR (anything without c)", which matches nearly everything.
    """
    if not isinstance(q, wq.CompoundQuery):
        return q
    q = copy.copy(q)  # keeps attributes such as Or's coord scale, which Query.apply() drops
    q.subqueries = [_apply_negations(sub) for sub in q.subqueries]
    if isinstance(q, wq.Or):
        negatives = [sub.query for sub in q.subqueries if isinstance(sub, wq.Not)]
        positives = [sub for sub in q.subqueries if not isinstance(sub, wq.Not)]
        if negatives and positives:
            kept = copy.copy(q)
            kept.subqueries = positives
            return wq.AndNot(
                kept if len(positives) > 1 else positives[0],
                wq.Or(negatives) if len(negatives) > 1 else negatives[0],
            )
    return q


def run_search(
    searcher: Searcher,
    parser: QueryParser,
    text: str,
    config: SearchConfig,
    limit: int | None = None,
    page: int = 1,
    sort: str = "relevance",
    snippeter: Snippeter | None = None,
    filters: facets.Filters | None = None,
    facet_names: Sequence[str] = (),
    interval: str = "month",
    entity_map: facets.EntityMap | None = None,
    collapse: bool = False,
    strict: bool = False,
) -> SearchResult:
    """One page of ranked (or newest-first) hits for ``text``, with the total match count and
    facet counts over all matches; ``filters`` restrict the matches without changing scores.
    ``collapse``: one hit per story (wire copies folded), and totals and facets count stories.
    Slips in ``text`` are read leniently, with a notice, unless ``strict``."""
    limit = limit or config.limit
    if limit < 1 or page < 1:
        raise QueryError("limit and page must be 1 or more")
    parser.reader = searcher.reader()
    q, notice = _prepare_read(parser, text, sort, filters, strict)
    if q is None:
        return SearchResult(query=text, total=0, page=page, limit=limit, hits=(), notice=notice)
    offset = (page - 1) * limit
    ranked, total, docs = _collect(
        searcher,
        q,
        None if collapse else offset + limit,
        sort,
        config.time_limit,
        record=bool(facet_names),
        fast=config.fast,
    )
    folded = folding.collapse(searcher, ranked) if collapse else None
    if folded is not None:
        ranked, total = folded.ranked, len(folded.ranked)
        docs = folded.docnums if docs is not None else None
    counts = (
        facets.count(searcher, docs, facet_names, interval, entity_map=entity_map)
        if docs is not None
        else {}
    )
    snippets = snippeter or Snippeter(searcher.schema["body"].analyzer)
    terms = {text for field, text in q.iter_all_terms() if field in ("body", "title")}
    # as NewsSearch.query_terms lists them, from the query as read (leniently or not)
    read = tuple(
        dict.fromkeys(
            t.decode("utf-8") if isinstance(t, bytes) else t
            for field, t in q.iter_all_terms()
            if field in ("body", "title")
        )
    )
    hits = []
    for rank, (docnum, score) in enumerate(ranked[offset : offset + limit], start=offset + 1):
        fields = searcher.stored_fields(docnum)
        snippet = snippets.snippet(fields.get("body", ""), terms, config.snippet_chars)
        hit = _make_hit(rank, fields, score, snippet, config)
        if folded is not None and docnum in folded.copies:
            copies = folded.copies[docnum]
            shown = [searcher.stored_fields(d) for d in copies[: folding.MAX_COPIES]]
            listed = tuple((f["id"], f.get("source")) for f in shown)
            hit = replace(hit, copies=listed, copy_count=len(copies))
        hits.append(hit)
    return SearchResult(
        query=text,
        total=total,
        page=page,
        limit=limit,
        hits=tuple(hits),
        suggestion=suggest(searcher, text, snippets) if config.suggest else None,
        facets=counts,
        notice=notice,
        terms=read,
    )


def _prepare(
    parser: GermanQueryParser,
    text: str,
    sort: str,
    filters: facets.Filters | None,
    strict: bool = False,
) -> wq.Query | None:
    """The parsed query with its filters, after checking the sort order (None: nothing left)."""
    return _prepare_read(parser, text, sort, filters, strict)[0]


def _prepare_read(
    parser: GermanQueryParser,
    text: str,
    sort: str,
    filters: facets.Filters | None,
    strict: bool = False,
) -> tuple[wq.Query | None, str | None]:
    """The parsed query with its filters (None: nothing to search) and the reading's notice."""
    if sort not in SORTS:
        raise QueryError(f"cannot sort by {sort!r}: choose from {', '.join(SORTS)}")
    q, notice = read_query(parser, text, strict)
    restrict = filters.query() if filters else None
    if restrict is None or q is None:
        return q, notice
    # In the query, adding (next to) nothing to scores. Not a collector filter: Whoosh's
    # TimeLimitCollector skips those and lets unfiltered articles through. Not score=0:
    # Whoosh's ListMatcher then falls back to a weight of 1.
    return wq.And([q, wq.ConstantScoreQuery(restrict, score=1e-12)]), notice


#: Columns of exported matches, in order.
EXPORT_FIELDS = (
    "rank",
    "id",
    "title",
    "date",
    "source",
    "author",
    "section",
    "topics",
    "person",
    "org",
    "place",
    "url",
    "score",
)


def export_rows(
    searcher: Searcher,
    parser: GermanQueryParser,
    text: str,
    config: SearchConfig,
    sort: str = "relevance",
    filters: facets.Filters | None = None,
    strict: bool = False,
) -> Iterator[dict]:
    """Every match (not one page) as a dict of EXPORT_FIELDS, best or newest first.

    The query runs now (a bad query raises here, not on the first row); rows are read as
    they are taken. Rows taken after the searcher was closed raise :class:`QueryError`.
    """
    q = _prepare(parser, text, sort, filters, strict)
    if q is None:
        return iter(())
    ranked, _, _ = _collect(searcher, q, None, sort, config.time_limit, fast=config.fast)
    return _export(searcher, ranked)


def _export(searcher: Searcher, ranked: list[tuple[int, float | None]]) -> Iterator[dict]:
    for rank, (docnum, score) in enumerate(ranked, start=1):
        try:
            fields = searcher.stored_fields(docnum)
        except ReaderClosed:
            raise QueryError(
                "the index was closed (or re-indexed) during the export: call export() again"
            ) from None
        article = from_stored(fields)
        yield {
            "rank": rank,
            "id": article.id,
            "title": article.title or article.lead,
            "date": iso(article.date),
            "source": article.source,
            "author": article.author,
            "section": article.section,
            "topics": "|".join(stored_topics(fields)),
            "url": article.url,
            **{facet: "|".join(names) for facet, names in entities_by_facet(fields).items()},
            "score": round(score, 4) if score is not None else None,
        }


class _Recorder(WrappingCollector):
    """Passes every match on to the ranking collector and keeps its docnum (for facet counts)."""

    def __init__(self, child) -> None:
        super().__init__(child)
        self.docnums: list[int] = []

    def collect(self, sub_docnum: int):
        self.docnums.append(self.child.offset + sub_docnum)
        return self.child.collect(sub_docnum)


def _collect(
    searcher: Searcher,
    q: wq.Query,
    limit: int | None,
    sort: str,
    time_limit: float,
    record: bool = False,
    fast: bool = True,
) -> tuple[list[tuple[int, float | None]], int, np.ndarray | None]:
    """Run ``q`` under the time limit; over the limit is a QueryError.

    Returns the best ``limit`` (all when None) matches as (docnum, score) pairs, best or newest
    first (score None when sorted by date), the number of all matches and, when ``record``,
    the ascending docnums of all matches (else None).
    """
    deadline = time.monotonic() + time_limit
    _expand_within(q, deadline)
    try:
        try:
            if not fast:
                raise vector.Unsupported("search.fast is off")
            docnums, scores = vector.evaluate(searcher, q, deadline)
        except vector.Unsupported:  # off, or a query shape it does not know
            return _plain_collect(searcher, q, limit, sort, time_limit, record)
        except (TimeLimit, RecursionError, MemoryError):
            raise
        except Exception as exc:  # Whoosh internals not as expected: never fail a search for it
            warn_fallback("search", exc)
            return _plain_collect(searcher, q, limit, sort, time_limit, record)
        ranked: list[tuple[int, float | None]] = (
            vector.top(docnums, scores, limit)  # type: ignore[assignment]
            if sort == "relevance"
            else newest(searcher, docnums, limit)
        )
        return ranked, len(docnums), docnums if record else None
    except TimeLimit:
        raise QueryError(
            f"the query ran longer than {time_limit:g}s and was stopped: make it more specific "
            "(leading wildcards such as *ung are slow), or raise search.time_limit in config.yaml"
        ) from None
    except RecursionError:
        raise QueryError("the query is nested too deeply") from None


def _expand_within(q: wq.Query, deadline: float) -> None:
    """Make every wildcard, prefix, range and fuzzy term stop its term expansion at ``deadline``.

    Whoosh expands them term by term while making the matcher, before any collector's time
    check; a short prefix (``1*``) on a large index expands to hundreds of thousands of terms.
    """
    for sub in _all_queries(q):
        if isinstance(sub, wq.MultiTerm) and "_btexts" not in vars(sub):
            sub._btexts = _timed(sub._btexts, deadline)


def _timed(btexts, deadline: float):
    def expand(ixreader):
        for n, btext in enumerate(btexts(ixreader)):
            if n % 256 == 255 and time.monotonic() > deadline:
                raise TimeLimit
            yield btext

    return expand


def _plain_collect(
    searcher: Searcher, q: wq.Query, limit: int | None, sort: str, time_limit: float, record: bool
) -> tuple[list[tuple[int, float | None]], int, np.ndarray | None]:
    """:func:`_collect` without the fast path; by date through :func:`newest`, as the fast path."""
    if sort != "date":
        return _whoosh_collect(searcher, q, limit, sort, time_limit, record)
    # Whoosh's reversed date sort lists undated articles first; newest() puts them last
    _, total, docnums = _whoosh_collect(searcher, q, 1, "relevance", time_limit, True)
    assert docnums is not None
    return newest(searcher, docnums, limit), total, docnums if record else None


def newest(
    searcher: Searcher, docnums: np.ndarray, limit: int | None
) -> list[tuple[int, float | None]]:
    """The ``limit`` newest of ``docnums`` (all when None); undated articles last.

    Same time: the later-indexed first, as in Whoosh's reversed date sort (which, unlike
    this, lists undated articles first: its missing-value marker is the largest number).
    """
    dates = facets.facet_tables(searcher.reader()).dates()[docnums]
    order = np.lexsort((docnums, dates, dates != facets.NO_DATE))[::-1][:limit]
    return [(int(d), None) for d in docnums[order]]


def _whoosh_collect(
    searcher: Searcher, q: wq.Query, limit: int | None, sort: str, time_limit: float, record: bool
):
    """:func:`_collect` by Whoosh's own collectors, one document at a time."""
    # No block-quality skipping (Whoosh's top-k shortcut): the exact total needs every match
    # anyway, and skipping then counting walks the matches twice. It also loops forever on
    # AndMaybe under some matchers.
    kwargs = {"sortedby": "date", "reverse": True} if sort == "date" else {}
    collector = searcher.collector(limit=limit, **kwargs)
    if hasattr(collector, "usequality"):
        collector.usequality = False
        # Nor matcher replacement: once the page is full, Whoosh "replaces" an OR whose parts
        # cannot reach the page's lowest score by an AND, which drops matches from the total
        # and the facets (in the test, one query counted 38 of its 200 matches)
        collector.replace = 0
    recording = _Recorder(collector) if record else None
    # no SIGALRM: searches also run in the web server's threads, where signals cannot be set
    timed = TimeLimitCollector(recording or collector, timelimit=time_limit, use_alarm=False)
    searcher.search_with_collector(q, timed)
    results = timed.results()
    total = len(recording.docnums) if recording is not None else len(results)
    docs = np.asarray(recording.docnums, dtype=np.int64) if recording is not None else None
    scored = sort == "relevance"
    return [(hit.docnum, hit.score if scored else None) for hit in results], total, docs


def _all_queries(q: wq.Query):
    """``q`` and every query inside it."""
    yield q
    for child in q.children():
        yield from _all_queries(child)


def _make_hit(
    rank: int, fields: dict, score: float | None, snippet: str, config: SearchConfig
) -> Hit:
    article = from_stored(fields)
    return Hit(
        rank=rank,
        id=article.id,
        title=article.title or article.lead,
        score=score,
        snippet=snippet or first_sentence(article.text, config.snippet_chars),
        date=article.date,
        source=article.source,
        url=article.url,
        topics=stored_topics(fields),
        entities=entities_by_facet(fields),
        story=fields.get("story"),
    )


class Snippeter:
    """Builds snippets: the window of the text with the most query terms, matches marked.

    Words are mapped to index terms through the index's own analyzer, one word at a time with a
    cache, which is much faster than Whoosh's highlighter re-analysing every hit in full.
    """

    _CACHE_LIMIT = caches.SNIPPET_TERMS
    _SPLIT = re.compile(r"\S+")

    def __init__(self, analyzer) -> None:
        self.analyzer = analyzer
        self._terms: dict[str, frozenset[str]] = {}

    def terms_of(self, word: str) -> frozenset[str]:
        """Index terms one whitespace-separated word yields."""
        found = self._terms.get(word)
        if found is None:
            found = frozenset(t.text for t in self.analyzer(word))
            if len(self._terms) < self._CACHE_LIMIT:
                self._terms[word] = found
        return found

    def snippet(self, text: str, terms: set[str], width: int = 240) -> str:
        """About ``width`` characters of ``text`` around the densest run of matches, or ""."""
        if not terms or not text:
            return ""
        words = [(m.start(), m.end()) for m in self._SPLIT.finditer(text)]
        hits = [i for i, (a, b) in enumerate(words) if self.terms_of(text[a:b]) & terms]
        if not hits:
            return ""
        best, best_count, j = hits[0], 0, 0
        for i, first in enumerate(hits):  # window starting at each match: count matches inside
            while j < len(hits) and words[hits[j]][1] - words[first][0] <= width:
                j += 1
            if j - i > best_count:
                best, best_count = first, j - i
        start = best
        while start > 0 and words[best][0] - words[start - 1][0] < width // 4:
            start -= 1  # a little context before the first match
        pieces, end, matched = [], start, set(hits)
        while end < len(words) and words[end][1] - words[start][0] <= width:
            a, b = words[end]
            pieces.append(f"{MARK[0]}{text[a:b]}{MARK[1]}" if end in matched else text[a:b])
            end += 1
        prefix = "… " if start > 0 else ""
        suffix = " …" if end < len(words) else ""
        return prefix + " ".join(pieces) + suffix


_WORD = re.compile(r"\w+")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO", "to"})


def suggest(searcher: Searcher, text: str, snippeter: Snippeter) -> str | None:
    """The query with words unknown to the index replaced by the closest frequent index word.

    Candidates are the index's own body terms within one edit of the word's term (two for
    terms of 7+ letters) sharing its first two letters; the most frequent wins and is shown as a
    word from an article that contains it. None if nothing changes.
    """
    reader = searcher.reader()
    pieces, last, changed = [], 0, False
    for m in _WORD.finditer(text):
        word = m.group(0)
        if (
            len(word) < 4
            or word.isdigit()
            or word in _OPERATORS
            or text[m.end() : m.end() + 1] in (":", "-")
            or text[max(0, m.start() - 1) : m.start()] in (":", "-")
        ):
            continue
        terms = snippeter.terms_of(word)
        if len(terms) != 1:
            continue  # a stop word, or a compound whose parts are what the query uses
        (term,) = terms
        if reader.doc_frequency("body", term) or reader.doc_frequency("title", term):
            continue  # a word the index knows, however rare, is not corrected
        better = _closest(searcher, word, term, snippeter)
        if better is None:
            continue
        if word.isupper():
            better = better.upper()
        elif word[0].isupper():
            better = better[0].upper() + better[1:]
        pieces += [text[last : m.start()], better]
        last, changed = m.end(), True
    return "".join(pieces) + text[last:] if changed else None


def _closest(searcher: Searcher, word: str, term: str, snippeter: Snippeter) -> str | None:
    reader = searcher.reader()
    field = searcher.schema["body"]
    maxdist = 2 if len(term) >= 7 else 1
    found: dict[int, list[str]] = {1: [], 2: []}
    # two fixed letters (one letter was too slow on a large index), one pass
    # for both distances, and the edit distance only for terms of a length within reach
    # (Whoosh's terms_within computes it for every term under the prefix, once per distance)
    for btext in reader.expand_prefix("body", term[:2]):
        candidate = field.from_bytes(btext)
        if abs(len(candidate) - len(term)) <= maxdist and candidate != term and candidate.isalpha():
            dist = distance(candidate, term, limit=maxdist)
            if dist <= maxdist:
                found[dist].append(candidate)
    for dist in (1, 2):
        if found[dist]:
            best = max((reader.doc_frequency("body", c), c) for c in found[dist])[1]
            return _surface_form(searcher, word, best, snippeter)
    return None


def _surface_form(searcher: Searcher, word: str, term: str, snippeter: Snippeter) -> str | None:
    """The written word closest to ``word`` that yields ``term`` (terms are stems; users want
    words)."""
    postings = searcher.reader().postings("body", term)
    forms: set[str] = set()
    for _ in range(20):  # the first articles with the term; it may appear only inside compounds
        body = searcher.stored_fields(postings.id()).get("body", "")
        forms.update(w.lower() for w in _WORD.findall(body) if term in snippeter.terms_of(w))
        postings.next()
        if not postings.is_active():
            break
    # phrase mode keeps compounds whole: "Flüchtlingsheim" does not stand for "flüchtling"
    forms = {f for f in forms if [t.text for t in snippeter.analyzer(f, mode="phrase")] == [term]}
    return min(forms, key=lambda f: (distance(word.lower(), f), f)) if forms else None


def more_like(
    searcher: Searcher, article_id: str, config: SearchConfig, limit: int = 10
) -> SearchResult:
    """Articles similar to ``article_id`` by their key terms, without itself and near-copies."""
    docnum = searcher.document_number(id=article_id)
    if docnum is None:
        raise ArticleNotFoundError(
            f"no article with id {article_id!r}: check the id in query results"
        )
    source = searcher.stored_fields(docnum)
    text = f"{source.get('title') or ''}\n{source.get('body', '')}"
    key_terms = searcher.key_terms_from_text("body", text, numterms=25)
    q = wq.Or([wq.Term("body", word, boost=weight) for word, weight in key_terms])
    analyzer = searcher.schema["body"].analyzer
    source_terms = _term_set(analyzer, text)
    # the whole-list evaluation, as a search's: Whoosh's collector walks the 25-term OR one
    # document at a time
    ranked, _, _ = _collect(
        searcher, q, limit + 21, "relevance", config.time_limit, fast=config.fast
    )
    hits: list[Hit] = []
    for other_docnum, score in ranked:
        if other_docnum == docnum:
            continue
        fields = searcher.stored_fields(other_docnum)
        other = _term_set(analyzer, f"{fields.get('title') or ''}\n{fields.get('body', '')}")
        if _jaccard(source_terms, other) >= NEAR_COPY:
            continue  # the same story again (a re-post or a lightly edited copy)
        hits.append(_make_hit(len(hits) + 1, fields, score, "", config))
        if len(hits) == limit:
            break
    return SearchResult(
        query=f"similar to {article_id}", total=len(hits), page=1, limit=limit, hits=tuple(hits)
    )


#: Word-set overlap above which another article counts as a copy of the source.
NEAR_COPY = 0.8


def _term_set(analyzer, text: str) -> set[str]:
    """The terms ``analyzer(text)`` yields, made by the analysis' one-loop path when it can."""
    positions = index_positions(analyzer, text)
    return set(positions) if positions is not None else {t.text for t in analyzer(text)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def scoring(config: SearchConfig) -> BM25F:
    """BM25F with the configured B and K1; the title weight comes from query-time field boosts."""
    return BM25F(B=min(config.bm25_b, 1.0), K1=config.bm25_k1)
