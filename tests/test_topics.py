"""Sections (the shipped classifier), user topics from config.yaml, topic facets and filters."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import (
    SECTIONS,
    Config,
    ConfigError,
    NewsSearch,
    QueryError,
    Topic,
    classify,
    load_config,
)
from newssearch.cli import cli
from newssearch.config import config_from_dict
from newssearch.enrich.sections import char_features, section_classifier

from .conftest import SEED, write_jsonl

TOPICS = {"Flucht": "Flüchtlinge OR Asyl", "Wien-Sport": "Wien AND (Fußball OR Rapid)"}

ARTICLES = [
    {
        "id": "t1",
        "text": "Der SK Rapid Wien hat das Derby gegen die Austria mit 3:1 gewonnen. Die Fans feierten im Stadion.",
    },
    {
        "id": "t2",
        "text": "Die Regierung in Wien will das Asylrecht verschärfen. Flüchtlinge sollen schneller abgeschoben werden.",
    },
    {
        "id": "t3",
        "text": "Der Ölpreis ist gefallen. Die Börsen in Frankfurt und New York reagierten mit Kursverlusten, Anleger sind nervös.",
    },
    {
        "id": "t4",
        "text": "Forscher haben ein neues Exoplaneten-System entdeckt. Das Teleskop registrierte sieben erdähnliche Planeten.",
    },
    {
        "id": "t5",
        "text": "Wien: Fußball-Fans und Polizei stießen nach dem Spiel zusammen. Flüchtlinge halfen beim Aufräumen.",
    },
    {
        "id": "t6",
        # long enough for the full-text model (short texts get a section only when it is sure)
        "text": "Apple stellt ein neues iPhone vor. Die Software bekommt Updates, die App-Entwickler "
        "freuen sich. Das neue Betriebssystem bringt mehr Datenschutz, die Akkulaufzeit des "
        "Smartphones steigt. Auch das Tablet und die Smartwatch erhalten das Update. "
        "Sicherheitsforscher hatten zuvor eine Lücke im Browser gemeldet, die nun geschlossen "
        "wird. Der Konzern will die Geräte im Herbst in den Handel bringen, Nutzer können die "
        "Beta-Version schon jetzt im Internet herunterladen.",
    },
]


def config_for(tmp_path, topics=TOPICS) -> Config:
    return Config(index=tmp_path / "ix").replace(topics=dict(topics))


def test_seed_article_is_international():
    topics = classify(SEED.read_text(encoding="utf-8"))
    assert topics[0].label == "International"
    assert sorted(t.label for t in topics) == sorted(SECTIONS)
    assert [t.score for t in topics] == sorted((t.score for t in topics), reverse=True)
    assert isinstance(topics[0], Topic)


@pytest.mark.parametrize(
    "text, label",
    [
        (
            "Der FC Bayern gewann das Champions-League-Spiel mit 2:0, Lewandowski traf zweimal.",
            "Sport",
        ),
        (
            "Die Inflation im Euroraum stieg, die EZB hält die Zinsen stabil; Banken und Anleger reagierten.",
            "Wirtschaft",
        ),
    ],
)
def test_obvious_sections(text, label):
    assert classify(text)[0].label == label


def test_model_is_plain_json_and_char_features_are_word_bounded():
    import gzip
    from importlib import resources

    raw = resources.files("newssearch").joinpath("data/sections_de.json.gz").read_bytes()
    model = json.loads(gzip.decompress(raw))  # no pickle: JSON or nothing
    assert set(model["labels"]) == set(SECTIONS)
    assert char_features("Ab Cd") == [" ab", "ab ", " ab ", " cd", "cd ", " cd "]
    assert section_classifier().best("   ") is None


def test_shipped_model_fits_its_training_data(shared_data):
    rows = [
        json.loads(line)
        for line in (shared_data / "corpus" / "gnad.jsonl").read_text("utf-8").splitlines()
    ]
    right = sum(classify(r["text"])[0].label == r["section"] for r in rows)
    assert (
        right / len(rows) > 0.95
    )  # a broken export (wrong order, bad quantisation) falls far below


def brute_force(ns, text, **kw):
    """Topic counts the obvious way: the stored topics of every match."""
    hits = ns.search(text, limit=10_000, **kw).hits
    return Counter(t for h in hits for t in h.topics)


@pytest.mark.parametrize(
    "text, kw",
    [
        ("Wien", {}),
        ("Wien OR Börsen OR Planeten OR iPhone", {}),
        ("Wien", {"filters": {"topic": ["Flucht"]}}),
        ("Wien OR Fans", {"filters": {"topic": ["Flucht", "Wien-Sport"]}}),
    ],
)
def test_topic_facets_match_brute_force(tmp_path, text, kw):
    with NewsSearch(tmp_path / "ix", config_for(tmp_path)) as ns:
        ns.index([write_jsonl(tmp_path / "a.jsonl", ARTICLES)])
        result = ns.search(text, facets=("topic",), limit=1, **kw)
        assert dict(result.facets["topic"]) == dict(brute_force(ns, text, **kw))
        assert result.facets["topic"]


def test_user_topics_tag_exactly_the_matching_articles(tmp_path):
    with NewsSearch(tmp_path / "ix", config_for(tmp_path)) as ns:
        report = ns.index([write_jsonl(tmp_path / "a.jsonl", ARTICLES)])
        assert report.topics == {"Flucht": 2, "Wien-Sport": 2}
        assert {h.id for h in ns.search("*", filters={"topic": ["Flucht"]}, limit=100).hits} == {
            "t2",
            "t5",
        }
        assert {
            h.id for h in ns.search("*", filters={"topic": ["wien-sport"]}, limit=100).hits
        } == {"t1", "t5"}
        assert {
            h.id
            for h in ns.search("*", filters={"topic": ["Flucht", "Wien-Sport"]}, limit=100).hits
        } == {"t5"}
        assert {h.id for h in ns.search("topic:flucht", limit=100).hits} == {"t2", "t5"}
        sport = {h.id: h.topics for h in ns.search("Rapid", limit=100).hits}
        assert sport["t1"] == ("Sport", "Wien-Sport")


def test_changing_topics_retags_without_the_corpus(tmp_path):
    corpus = write_jsonl(tmp_path / "a.jsonl", ARTICLES)
    with NewsSearch(tmp_path / "ix", config_for(tmp_path)) as ns:
        ns.index([corpus])
        # a short text has a section only where the classifier is sure
        sections = {
            h.id: tuple(t for t in h.topics if t in SECTIONS)
            for h in ns.search("*", limit=100).hits
        }
    corpus.unlink()
    changed = {"Börse": "Börsen OR Anleger", "Flucht": "Flüchtlinge"}
    with NewsSearch(tmp_path / "ix", config_for(tmp_path, changed)) as ns:
        report = ns.retag()
        assert report.topics == {"Börse": 1, "Flucht": 2}
        assert (
            report.retagged == 3
        )  # t1 loses Wien-Sport, t3 gains Börse, t5 loses Wien-Sport; t2 unchanged
        hits = {h.id: h.topics for h in ns.search("*", limit=100).hits}
        assert hits["t3"] == (*sections["t3"], "Börse")
        assert hits["t1"] == sections["t1"]
        assert ns.search("*", filters={"topic": ["Wien-Sport"]}).total == 0
        assert ns.retag().retagged == 0
        assert (
            ns.get("t3").text == ARTICLES[2]["text"]
        )  # rewritten from stored fields, nothing lost


def test_bad_topic_query_names_the_topic(tmp_path):
    with (
        NewsSearch(tmp_path / "ix", config_for(tmp_path, {"Kaputt": "(Wien"})) as ns,
        pytest.raises(ConfigError, match=r"topics\.Kaputt: unbalanced"),
    ):
        ns.index([write_jsonl(tmp_path / "a.jsonl", ARTICLES)])


@pytest.mark.parametrize(
    "topics, message",
    [
        (["a"], "must be a mapping"),
        ({"A,B": "x"}, "without commas"),
        ({"A": 3}, r"'topics\.A' must be a query string"),
    ],
)
def test_topic_config_errors(topics, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"topics": topics})


def test_cli_topic_filter_facets_export_and_retag(tmp_path):
    corpus = write_jsonl(tmp_path / "a.jsonl", ARTICLES)
    (tmp_path / "c.yaml").write_text(
        f"index: {tmp_path / 'ix'}\ntopics:\n  Flucht: 'Flüchtlinge OR Asyl'\n", encoding="utf-8"
    )
    assert load_config(tmp_path / "c.yaml").topics == {"Flucht": "Flüchtlinge OR Asyl"}
    runner = CliRunner()
    base = ["--config", str(tmp_path / "c.yaml")]
    assert runner.invoke(cli, ["index", *base, str(corpus)]).exit_code == 0
    out = runner.invoke(cli, ["query", *base, "Wien", "--facets", "--topic", "Flucht", "--json"])
    data = json.loads(out.output)
    assert {h["id"] for h in data["hits"]} == {"t2", "t5"}
    assert dict(data["facets"]["topic"])["Flucht"] == 2
    text = runner.invoke(cli, ["query", *base, "Wien", "--facets"]).output
    assert "Topics: " in text and "Flucht (2)" in text
    rows = list(
        csv.DictReader(
            io.StringIO(runner.invoke(cli, ["query", *base, "Flüchtlinge", "--csv"]).output)
        )
    )
    assert {r["id"]: r["topics"].split("|")[-1] for r in rows} == {"t2": "Flucht", "t5": "Flucht"}
    digital = runner.invoke(cli, ["query", *base, "*", "--topic", "Digital", "--json"])
    assert {h["id"] for h in json.loads(digital.output)["hits"]} == {
        "t6"
    }  # Digital is the display name of Web
    (tmp_path / "c.yaml").write_text(f"index: {tmp_path / 'ix'}\n", encoding="utf-8")
    out = runner.invoke(cli, ["retag", *base])
    assert out.exit_code == 0 and "2 articles re-tagged" in out.output
    assert runner.invoke(cli, ["query", *base, "*", "--topic", "Flucht"]).output.startswith(
        "No articles match"
    )
    with pytest.raises(QueryError), NewsSearch(tmp_path / "ix") as ns:
        ns.search("*", filters={"topic": "  "})


def test_cli_classify(tmp_path):
    out = CliRunner().invoke(cli, ["classify", str(SEED)])
    assert out.exit_code == 0 and out.output.splitlines()[0].endswith("International")
    data = json.loads(
        CliRunner()
        .invoke(cli, ["classify", "-", "--json"], input="Rapid gewinnt das Derby 3:0.")
        .output
    )
    assert data[0]["label"] == "Sport" and len(data) == len(SECTIONS)


def test_many_texts_score_as_each_alone_and_repeats_as_doubled_text():
    """Scoring a batch gives each text's own scores; a repeat count scores the text read twice."""
    import numpy as np

    clf = section_classifier()
    texts = [a["text"] for a in ARTICLES] + ["", "xyzzy", ARTICLES[0]["text"]]
    together = clf.scores_many(texts)
    assert np.allclose(together, np.array([clf.scores(t) for t in texts]), rtol=0, atol=1e-12)
    assert (
        together.shape == (len(texts), len(SECTIONS))
        and together[-1].tolist() == together[0].tolist()
    )
    doubled = clf.scores_many([f"{t}\n\n{t}" for t in texts])
    repeated = clf.scores_many(texts, [2] * len(texts))
    assert np.allclose(doubled, repeated, rtol=0, atol=1e-12)
    assert not np.allclose(
        repeated[0], together[0]
    )  # counts matter (sublinear tf): not the same as once
    assert clf.best_many(["  ", ARTICLES[0]["text"]]) == [None, clf.best(ARTICLES[0]["text"])]


def reference_scores(clf, text: str) -> list[float]:
    """The model's decision values the plain way: each block's training features, TF-IDF, dot."""
    import math

    from newssearch.enrich.sections import stem_features

    total = list(clf.intercept)
    for (_, ids_of, _, idf, weights, _), features in zip(
        clf.blocks, (stem_features, char_features), strict=False
    ):
        tf = Counter(ids_of.vocab[f] for f in features(text) if f in ids_of.vocab)
        w = {f: (1 + math.log(c)) * idf[f] for f, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in w.values()))
        for f, v in w.items():
            for k in range(len(total)):
                total[k] += v / norm * weights[f, k]
    return total


def test_scores_are_the_tfidf_of_the_training_features(shared_data):
    """The batched scores (word caches, new words' grams looked up as arrays) are the model's own."""
    import numpy as np

    lines = (shared_data / "corpus" / "gnad.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    rows = [json.loads(line) for line in lines]
    texts = (
        [r["text"] for r in rows]
        + [a["text"] for a in ARTICLES]
        + ["Ünïcödé ÄÖÜ straße 𝔘 ⅻ x\ud800y", "", "z"]
    )
    clf = section_classifier()
    for batch in (texts, texts):  # the second time every word is known
        assert np.allclose(
            clf.scores_many(batch), [reference_scores(clf, t) for t in batch], rtol=0, atol=1e-9
        )


words = st.text(
    st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc"))
    | st.sampled_from("äöüßé-.,\ud800𝔘"),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        words | st.sampled_from(["der", "bundesregierung", "österreich", "ab", "x"]), max_size=30
    )
)
def test_char_grams_of_many_words_are_each_words_lookups(batch):
    """All words' n-gram ids at once (numpy keys) are those of looking up each word's grams, in order."""
    from newssearch.enrich.sections import CharGrams, WordLookup, word_grams

    chars = next(b[1] for b in section_classifier().blocks if isinstance(b[1], CharGrams))
    assert chars.exact
    assert chars(batch) == WordLookup(word_grams, chars.vocab)(batch)


def test_a_headline_gets_a_section_only_when_the_short_text_model_is_sure(tmp_path):
    from newssearch.enrich.sections import SHORT_TEXT_CHARS, sections_many

    headlines = [
        "Was Angela Merkel erreicht hat",
        "Bayern München gewinnt das Derby gegen Dortmund mit 3:1",
        "DAX schließt mit Kursverlusten, Anleger verkaufen Aktien",
    ]
    # the full-text model called the first one Digital; now it gets none
    assert sections_many(headlines, [2] * 3) == [None, "Sport", "Wirtschaft"]
    long = ARTICLES[5]["text"]
    assert len(long) >= SHORT_TEXT_CHARS
    assert sections_many([long]) == [section_classifier().best(long)] == ["Web"]
    records = [{"id": f"h{i}", "title": h, "text": h} for i, h in enumerate(headlines)]
    corpus = write_jsonl(tmp_path / "h.jsonl", records)
    with NewsSearch(tmp_path / "ix", config_for(tmp_path)) as ns:
        ns.index([corpus])
        topics = {h.id: h.topics for h in ns.search("*", limit=10).hits}
    assert topics == {"h0": (), "h1": ("Sport",), "h2": ("Wirtschaft",)}


def test_cli_classify_says_what_a_short_text_is_indexed_as(tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["classify", "-"], input="Was Angela Merkel erreicht hat\n")
    assert out.exit_code == 0, out.output
    assert "indexed with no section" in out.output
    sport = "Bayern München gewinnt das Derby gegen Dortmund mit 3:1\n"
    out = runner.invoke(cli, ["classify", "-"], input=sport)
    assert "indexed as: Sport" in out.output
