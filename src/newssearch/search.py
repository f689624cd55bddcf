"""Querying: the German query parser, ranked search, snippets."""

from __future__ import annotations

import copy
import re
from typing import Sequence

from whoosh import query as wq
from whoosh.highlight import ContextFragmenter, Formatter, get_text
from whoosh.qparser import AndGroup, GtLtPlugin, MultifieldParser, OrGroup, PhrasePlugin, QueryParser
from whoosh.qparser.common import attach
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from .config import SEARCH_FIELDS, SORTS, SearchConfig
from .errors import QueryError
from .models import Hit, SearchResult, first_sentence
from .schema import from_stored

#: Opening and closing marks around matched words in snippets.
MARK = ("**", "**")
_TYPOGRAPHIC_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "»": '"', "«": '"'})


class MarkFormatter(Formatter):
    """Wraps matched words in ``**`` and joins fragments with an ellipsis."""

    between = " … "

    def format_token(self, text: str, token, replace: bool = False) -> str:  # noqa: ANN001
        return f"{MARK[0]}{get_text(text, token, replace)}{MARK[1]}"


class GermanPhrasePlugin(PhrasePlugin):
    """Phrases analysed in "phrase" mode: compounds stay whole, hyphenated words give their parts.

    Documents hold a compound's parts at the compound's own position, so a phrase must use the
    whole word to keep its words consecutive; Whoosh's own plugin analyses phrases like terms.
    """

    class PhraseNode(PhrasePlugin.PhraseNode):
        def query(self, parser):  # noqa: ANN001, ANN201
            fieldname = self.fieldname or parser.fieldname
            field = parser.schema[fieldname] if parser.schema and fieldname in parser.schema else None
            if field is None or not field.analyzer:
                return super().query(parser)
            words, ranges = [], []
            for t in field.tokenize(self.text, mode="phrase", chars=True):
                words.append(t.text)
                ranges.append((self.textstartchar + t.startchar, self.textstartchar + t.endchar))
            q = parser.phraseclass(fieldname, words, slop=self.slop, boost=self.boost, char_ranges=ranges)
            return attach(q, self)

    class PhraseTagger(PhrasePlugin.PhraseTagger):
        def create(self, parser, match):  # noqa: ANN001, ANN201
            slop = match.group("slop")
            return GermanPhrasePlugin.PhraseNode(match.group("text"), match.start("text"), int(slop) if slop else 1)

    def taggers(self, parser):  # noqa: ANN001, ANN201
        return [(self.PhraseTagger(self.expr), 0)]


def build_parser(schema, config: SearchConfig, fields: Sequence[str] | None = None) -> QueryParser:  # noqa: ANN001
    """The query parser: Whoosh syntax over ``fields`` (default title + body) with config boosts."""
    fields = list(fields or ("title", "body"))
    unknown = [f for f in fields if f not in SEARCH_FIELDS]
    if unknown:
        raise QueryError(f"cannot search field '{unknown[0]}': choose from {', '.join(SEARCH_FIELDS)}")
    if config.operator == "and":
        group = AndGroup
    else:
        group = OrGroup.factory(config.coord) if config.coord > 0 else OrGroup
    boosts = {f: config.boosts.get(f, 1.0) for f in fields}
    parser = MultifieldParser(fields, schema, fieldboosts=boosts, group=group)
    parser.add_plugin(GtLtPlugin())
    parser.remove_plugin_class(PhrasePlugin)
    parser.add_plugin(GermanPhrasePlugin())
    return parser


def check_syntax(text: str) -> str:
    """Normalise typographic quotes and reject unbalanced quotes, brackets and dangling operators."""
    text = text.translate(_TYPOGRAPHIC_QUOTES)
    if not text.strip():
        raise QueryError("the query is empty: give some words to search for")
    if text.count('"') % 2:
        raise QueryError('unbalanced quote in the query: close the phrase with a second "')
    outside = re.sub(r'"[^"]*"', " ", text)
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in outside:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            if not stack or stack[-1] != pairs[char]:
                raise QueryError(f"unbalanced '{char}' in the query: remove it or add the opening '{pairs[char]}'")
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


def parse(parser: QueryParser, text: str) -> wq.Query:
    """Parse ``text`` or raise QueryError with a message a user can act on."""
    text = check_syntax(text)
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # Whoosh raises assorted errors for bad field values (dates)
        raise QueryError(f"cannot parse the query {text!r}: {exc}") from None
    parsed = _apply_negations(parsed)
    if re.search(r"(^|[\s(])date:", text) and "date" not in {f for f, _ in _fields_in(parsed)}:
        raise QueryError(
            "cannot read the date in the query: use date:2015, date:2015-06, date:2015-06-30, "
            "date:[2015-01-01 to 2015-12-31] or date:>2015-06"
        )
    return parsed


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
            return wq.AndNot(kept if len(positives) > 1 else positives[0], wq.Or(negatives) if len(negatives) > 1 else negatives[0])
    return q


def _fields_in(q: wq.Query):  # noqa: ANN202
    for sub in q.leaves() if not q.is_leaf() else [q]:
        yield getattr(sub, "fieldname", None), sub


def run_search(
    searcher: Searcher,
    parser: QueryParser,
    text: str,
    config: SearchConfig,
    limit: int | None = None,
    page: int = 1,
    sort: str = "relevance",
) -> SearchResult:
    """One page of ranked (or newest-first) hits for ``text``, with the total match count."""
    limit = limit or config.limit
    if limit < 1 or page < 1:
        raise QueryError("limit and page must be 1 or more")
    if sort not in SORTS:
        raise QueryError(f"cannot sort by {sort!r}: choose from {', '.join(SORTS)}")
    q = parse(parser, text)
    offset = (page - 1) * limit
    if sort == "date":
        results = searcher.search(q, limit=offset + limit, sortedby="date", reverse=True)
    else:
        results = searcher.search(q, limit=offset + limit)
    results.fragmenter = ContextFragmenter(maxchars=config.snippet_chars, surround=60)
    results.formatter = MarkFormatter()
    hits = []
    for rank, hit in enumerate(results[offset : offset + limit], start=offset + 1):
        article = from_stored(hit.fields())
        snippet = hit.highlights("body", top=2) or hit.highlights("title", top=1) or ""
        snippet = " ".join(snippet.split()) or first_sentence(article.text, config.snippet_chars)
        hits.append(
            Hit(
                rank=rank,
                id=article.id,
                title=article.title or article.lead,
                score=hit.score if sort == "relevance" else None,
                snippet=snippet,
                date=article.date,
                source=article.source,
                url=article.url,
            )
        )
    return SearchResult(query=text, total=len(results), page=page, limit=limit, hits=tuple(hits))


def scoring(config: SearchConfig) -> BM25F:
    """BM25F with the configured B and K1; the title weight comes from query-time field boosts."""
    return BM25F(B=min(config.bm25_b, 1.0), K1=config.bm25_k1)
