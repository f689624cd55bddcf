"""How typed queries are read: lenient syntax with a notice, exact phrases, question marks."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newssearch import Config, EnrichConfig, NewsSearch, QueryError
from newssearch.query.lenient import tidy
from newssearch.text.analysis import build_analyzer

from .conftest import NEWS, write_jsonl


@pytest.fixture(scope="module")
def news_index(tmp_path_factory, shared_data_module):
    """gnad + SmartData + the headlines on jobless figures and trams, and the test NEWS."""
    shared = shared_data_module
    folder = tmp_path_factory.mktemp("reading")
    wanted = re.compile(r"arbeitslos|straßenbahn|zöll", re.IGNORECASE)
    with gzip.open(shared / "corpus" / "headlines.jsonl.gz", "rt", encoding="utf-8") as fh:
        headlines = [r for r in map(json.loads, fh) if wanted.search(r["title"])]
    records = [{"id": r["id"], "title": r["title"], "text": r["title"]} for r in headlines] + NEWS
    files = [
        shared / "corpus" / "gnad.jsonl",
        shared / "ner" / "smartdata_train.jsonl",
        write_jsonl(folder / "more.jsonl", records),
    ]
    config = Config(index=folder / "ix", enrich=EnrichConfig(sections=False, entities=False))
    ns = NewsSearch(folder / "ix", config)
    ns.index(files)
    yield ns
    ns.close()


@pytest.fixture(scope="module")
def shared_data_module():
    from .conftest import SHARED

    if not (SHARED / "corpus" / "gnad.jsonl").exists():
        pytest.skip(f"shared German data not found at {SHARED} (set NEWSSEARCH_DATA)")
    return SHARED


def _has_phrase(ns: NewsSearch, article_id: str, phrase: str) -> bool:
    """Whether the article's title or text holds the phrase's words in order (as whole words)."""
    analyzer = build_analyzer()
    words = [t.text for t in analyzer(phrase, mode="phrase")]
    article = ns.get(article_id)
    for text in (article.title or "", article.text):
        terms = [t.text for t in analyzer(text, mode="phrase")]
        for i in range(len(terms) - len(words) + 1):
            if terms[i : i + len(words)] == words:
                return True
    return False


@pytest.mark.parametrize("phrase", ["Weniger Arbeitslose", "neue Straßenbahnen"])
def test_quoted_phrase_returns_only_articles_with_the_phrase(news_index, phrase):
    result = news_index.search(f'"{phrase}"', limit=500)
    assert result.total == len(result.hits) > 0
    assert all(_has_phrase(news_index, h.id, phrase) for h in result.hits), [
        h.title for h in result.hits if not _has_phrase(news_index, h.id, phrase)
    ]
    # the same words unquoted match more (each word anywhere)
    assert news_index.search(phrase.replace(" ", " AND "), limit=1).total > result.total


def test_quoted_compound_is_the_compound_not_its_parts(news_index):
    # unquoted, "Arbeitslose" is searched as its parts (arbeit AND los), which also match
    # "Arbeit ... los"; quoted, only the word itself or a longer compound made with it
    quoted = news_index.search('"Arbeitslose"', limit=3000)
    assert 0 < quoted.total < news_index.search("Arbeitslose", limit=1).total
    analyzer = build_analyzer()
    (whole,) = [t.text for t in analyzer("Arbeitslose", mode="phrase")]
    for hit in quoted.hits:
        article = news_index.get(hit.id)
        text = f"{article.title or ''} {article.text}"
        assert any(whole in t.text for t in analyzer(text, mode="phrase")), hit.title


@pytest.mark.parametrize(
    "question",
    [
        "Wer regiert in Österreich?",
        "Was kostet die Straßenbahn?",
        "Warum gibt es weniger Arbeitslose?",
        "Wie viele Flüchtlinge kamen nach Deutschland?!",
    ],
)
def test_a_question_mark_is_punctuation(news_index, question):
    with_mark = news_index.search(question, limit=20)
    without = news_index.search(question.rstrip("?!"), limit=20)
    assert with_mark.total == without.total > 0
    assert [h.id for h in with_mark.hits] == [h.id for h in without.hits]
    assert with_mark.notice is None  # punctuation is not a slip worth a note


def test_a_name_in_the_genitive_meets_the_name(news_index):
    # Snowball keeps the -s of "Trumps"; headlines say "Trumps Strafzölle"
    trumps = {h.id for h in news_index.search("Trumps AND Zölle", limit=100).hits}
    trump = {h.id for h in news_index.search("Trump AND Zölle", limit=100).hits}
    assert trumps == trump
    titles = [news_index.get(i).title for i in trump]
    assert any("Trumps " in t for t in titles) and any("Trump " in t for t in titles)


def test_wildcards_stay_deliberate(news_index):
    assert news_index.search("Straßenbahn*").total >= news_index.search("Straßenbahn").total > 0
    assert news_index.search("Arbeitslos?").total == news_index.search("Arbeitslos").total


@pytest.mark.parametrize(
    "text, read_as, note",
    [
        ('"Weniger Arbeitslose', "Weniger Arbeitslose", "unpaired quote"),
        ("(Arbeitslose OR Straßenbahn", "Arbeitslose OR Straßenbahn", "unpaired '('"),
        ("Arbeitslose)", "Arbeitslose", "unpaired ')'"),
        ("Arbeitslose AND", "Arbeitslose", "'AND' at the end"),
        ("OR Arbeitslose", "Arbeitslose", "'OR' at the start"),
        ("Arbeitslose AND OR Bayern", "Arbeitslose OR Bayern", "'AND' without a word"),
        ('Arbeitslose date:"gestern"', "Arbeitslose", "not a date"),
        ("Arbeitslose date:[2015-13-45 to 2016]", "Arbeitslose", "not a date"),
    ],
)
def test_slips_are_read_leniently_with_a_notice(news_index, text, read_as, note):
    result = news_index.search(text)
    assert result.notice and note in result.notice and result.notice.endswith(read_as)
    expected = news_index.search(read_as)
    assert [h.id for h in result.hits] == [h.id for h in expected.hits] and result.total > 0
    if "AND OR" not in text:  # Whoosh itself reads that one somehow
        with pytest.raises(QueryError):
            news_index.search(text, strict=True)


def test_valid_syntax_is_read_as_typed(news_index):
    for text in ("Arbeitslose NOT Bayern", '"weniger Arbeitslose" OR Straßenbahn', "title:Bayern"):
        assert news_index.search(text).notice is None
        assert tidy(text, {"title", "body"})[0] == text


SYNTAX = (
    "AND",
    "OR",
    "NOT",
    "ANDNOT",
    "ANDMAYBE",
    "TO",
    '"',
    "„",
    "“",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    "date:",
    "title:",
    "person:",
    "*",
    "?",
    "!",
    ".",
    "^",
    "^2",
    "~",
    "~2",
    "<",
    ">",
    "'",
    "\\",
    "/",
    "-",
    "+",
    "\x00",
    "\n",
    "\t",
    "\u200b",
    "ß",
    "Ö",
    "🙂",
    "Arbeitslose",
    "Straßenbahn",
    "date:2015",
    "date:[2015 to",
    "2016]",
    "Wien?",
)
QUERY_PIECES = st.one_of(st.sampled_from(SYNTAX), st.text(max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(QUERY_PIECES, max_size=10).map(" ".join) | st.text(max_size=40))
def test_any_text_gets_an_answer_by_default(news_index, text):
    result = news_index.search(text, facets=("source",))
    assert result.total >= len(result.hits)
    assert result.notice is None or isinstance(result.notice, str)


TITLE_PAIRS = [
    ("Flüchtlinge", "Grenze"),
    ("Strache", "FPÖ"),
    ("Google", "Android"),
    ("Erdogan", "Türkei"),
]


@pytest.fixture(scope="module")
def titled_index(tmp_path_factory, shared_data_module):
    """gnad + SmartData (no titles) and real headlines naming one or both words of each pair."""
    shared = shared_data_module
    folder = tmp_path_factory.mktemp("titles")
    with gzip.open(shared / "corpus" / "headlines.jsonl.gz", "rt", encoding="utf-8") as fh:
        headlines = [json.loads(line) for line in fh]
    records, kinds = [], {}
    for a, b in TITLE_PAIRS:
        has_a, has_b = (re.compile(rf"\b{w}\b").search for w in (a, b))
        one = [h for h in headlines if has_a(h["title"]) and not has_b(h["title"])]
        both = [h for h in headlines if has_a(h["title"]) and has_b(h["title"])]
        # the shortest titles with one word: the case a title boost overrates
        for h in sorted(one, key=lambda h: len(h["title"]))[:20]:
            kinds[h["id"]] = (a, "one")
            records.append(h)
        for h in both[:5]:
            kinds[h["id"]] = (a, "both")
            records.append(h)
    # a headline-only record: the title is all its text
    records = [{"id": h["id"], "title": h["title"], "text": h["title"]} for h in records]
    files = [
        shared / "corpus" / "gnad.jsonl",
        shared / "ner" / "smartdata_train.jsonl",
        write_jsonl(folder / "headlines.jsonl", records),
    ]
    config = Config(index=folder / "ix", enrich=EnrichConfig(sections=False, entities=False))
    ns = NewsSearch(folder / "ix", config)
    ns.index(files)
    yield ns, kinds
    ns.close()


@pytest.mark.parametrize("a, b", TITLE_PAIRS)
def test_title_boost_is_modest(titled_index, a, b):
    ns, kinds = titled_index
    hits = ns.search(f"{a} {b}", limit=100).hits
    rank = {h.id: h.rank for h in hits}
    has_both = [
        h.rank
        for h in hits
        if h.id not in kinds and all(re.search(rf"\b{w}\b", ns.get(h.id).text) for w in (a, b))
    ]
    one_word_titles = [r for i, r in rank.items() if kinds.get(i) == (a, "one")]
    whole_titles = [r for i, r in rank.items() if kinds.get(i) == (a, "both")]
    assert has_both and one_word_titles and whole_titles
    # an article whose text has both words beats every short title with one of them
    assert min(has_both) < min(one_word_titles)
    # a title with the whole query still comes first or second
    assert min(whole_titles) <= 2
