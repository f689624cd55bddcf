"""Named entities: the shipped tagger, name normalisation, entity fields, facets, filters, CLI."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import (
    Config,
    EnrichConfig,
    Entity,
    NewsSearch,
    QueryError,
    extract_entities,
)
from newssearch.cli import cli
from newssearch.enrich.entities import (
    Featurizer,
    Lexicon,
    Normalizer,
    distinct,
    sentences,
    split_at_dashes,
    tokenize,
)
from newssearch.text.names import name_key

from .conftest import SEED, write_jsonl


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(Lexicon.load())


def seed_facets(tmp_path):
    with NewsSearch(tmp_path / "ix", Config(index=tmp_path / "ix")) as ns:
        ns.index([SEED])
        return ns.search("Gipfel Peking", facets=("person", "org", "place"), limit=1).facets


def test_seed_article_facets(tmp_path):
    facets = seed_facets(tmp_path)
    names = {facet: [name for name, _ in values] for facet, values in facets.items()}
    assert {"Xi Jinping", "Kim Jong Un"} <= set(names["person"])
    assert {"Putin", "Wladimir Putin"} & set(names["person"])
    assert {"China", "Russland", "Peking", "Ukraine"} <= set(names["place"])
    assert {"Kreml", "Xinhua"} <= set(names["org"]) | set(names["place"])
    everything = [n for values in names.values() for n in values]
    # each once, in one spelling, no genitive forms, no short form beside the full name
    assert len({name_key(n) for n in everything}) == len(everything)
    for genitive in ("Putins", "Chinas", "Russlands", "Moskaus", "Nordkoreas"):
        assert genitive not in everything
    assert "Xi" not in everything
    assert all(count == 1 for values in facets.values() for _, count in values)


def test_extract_entities_offsets_and_labels():
    text = SEED.read_text(encoding="utf-8")
    found = extract_entities(text)
    assert found and all(isinstance(e, Entity) for e in found)
    for e in found:
        assert text[e.start : e.end] == e.text
        assert e.label in ("PER", "ORG", "LOC")
    by_text = {(e.text, e.label) for e in found}
    assert ("Xi Jinping", "PER") in by_text
    assert [e.start for e in found] == sorted(e.start for e in found)
    assert extract_entities("") == []
    assert extract_entities("und oder aber , . !") == []


def test_genitive_forms(normalizer):
    # the bare form in the same article, or a known name
    assert normalizer.normalize([("PER", "Putins"), ("PER", "Putin")]) == ["Putin", "Putin"]
    assert normalizer.normalize([("LOC", "Chinas")]) == ["China"]
    assert normalizer.normalize([("LOC", "Russlands")]) == ["Russland"]
    assert normalizer.normalize([("PER", "Wladimir Putins")]) == ["Wladimir Putin"]
    assert normalizer.normalize([("PER", "Marx'")]) == ["Marx"]
    # names that end in s
    assert normalizer.normalize([("LOC", "Paris")]) == ["Paris"]
    assert normalizer.normalize([("PER", "Klaus")]) == ["Klaus"]
    assert normalizer.normalize([("PER", "Markus")]) == ["Markus"]
    assert normalizer.normalize([("ORG", "UNHCR")]) == ["UNHCR"]
    # a surname in s whose bare form is only a place name
    assert normalizer.normalize([("PER", "Andrea Nahles")]) == ["Andrea Nahles"]
    assert normalizer.normalize([("PER", "Angela Merkels")]) == ["Angela Merkel"]


def test_short_mentions_map_to_the_full_name(normalizer):
    mentions = [
        ("PER", "Xi"),
        ("PER", "Xi Jinping"),
        ("PER", "Putin"),
        ("PER", "Wladimir Putin"),
        ("PER", "Putins"),
    ]
    assert normalizer.normalize(mentions) == [
        "Xi Jinping",
        "Xi Jinping",
        "Wladimir Putin",
        "Wladimir Putin",
        "Wladimir Putin",
    ]
    # ambiguous: two Schmidts in one article stay as written
    two = [("PER", "Helmut Schmidt"), ("PER", "Renate Schmidt"), ("PER", "Schmidt")]
    assert normalizer.normalize(two) == ["Helmut Schmidt", "Renate Schmidt", "Schmidt"]
    # a place does not borrow a person's name
    assert (
        normalizer.normalize([("PER", "Paul Washington"), ("LOC", "Washington")])[1] == "Washington"
    )


def test_abbreviations_and_spelling_variants(normalizer):
    mentions = [
        ("ORG", "Shanghaier Organisation für Zusammenarbeit"),
        ("ORG", "SOZ"),
        ("ORG", "SOZ"),
    ]
    assert set(normalizer.normalize(mentions)) == {"Shanghaier Organisation für Zusammenarbeit"}
    assert normalizer.normalize([("ORG", "SPD"), ("ORG", "Sozialdemokratische Partei")]) == [
        "SPD",
        "Sozialdemokratische Partei",
    ]
    variants = [("ORG", "Rotes Kreuz"), ("ORG", "ROTES KREUZ"), ("ORG", "Rotes-Kreuz")]
    assert normalizer.normalize(variants) == ["Rotes Kreuz"] * 3
    assert name_key("„Die Linke“") == name_key("die linke") == name_key("Die-Linke")


def test_distinct_keeps_one_label_per_name():
    found = [
        Entity("Kreml", "ORG", 0, 5, "Kreml"),
        Entity("Kreml", "LOC", 9, 14, "Kreml"),
        Entity("Kreml", "ORG", 20, 25, "Kreml"),
        Entity("Xi", "PER", 30, 32, "Xi Jinping"),
    ]
    assert distinct(found) == [("ORG", "Kreml"), ("PER", "Xi Jinping")]


def test_a_lone_first_name_is_a_mention_but_no_facet_value():
    """ "Andreas" alone is a person mentioned in the text (extract lists it), but names nobody a
    reader could look up: no facet value; a first name inside a full name stays."""
    found = [
        Entity("Andreas", "PER", 0, 7, "Andreas"),
        Entity("Andreas Haug", "PER", 10, 22, "Andreas Haug"),
        Entity("Merkel", "PER", 30, 36, "Merkel"),
    ]
    assert distinct(found) == [("PER", "Andreas Haug"), ("PER", "Merkel")]
    mentions = extract_entities("Das sagte Andreas am Montag in Berlin.")
    assert [(e.text, e.label) for e in mentions] == [("Andreas", "PER"), ("Berlin", "LOC")]
    assert distinct(mentions) == [("LOC", "Berlin")]


def test_a_common_noun_is_no_person():
    """ "Corona" (a common noun, a Spanish surname elsewhere) is no person; a common noun that
    is a listed surname ("Fischer") is."""
    found = extract_entities("Corona: Merkel warnt. Fischer kam nach Essen.")
    assert ("Corona", "PER") not in {(e.text, e.label) for e in found}
    assert {("Merkel", "PER"), ("Fischer", "PER")} <= {(e.text, e.label) for e in found}


def test_tokens_and_sentences():
    text = (
        "Am 3. Oktober traf Xi Jinping (China) in Peking die Baden-Württemberger. Danach: "
        "nichts!\n\nNeu."
    )
    words = [text[a:b] for a, b in tokenize(text)]
    assert "Jinping" in words and "Baden-Württemberger" in words and "(" in words
    # as GermEval tokenises: elided compounds, abbreviations, initials, numbers with suffixes
    text2 = (
        "Staats- und Parteichef W. Hirschfeld (geb. 1980) sah z.B. die 1980er Jahre, "
        "Friedrich II. und -Richtlinien."
    )
    assert [text2[a:b] for a, b in tokenize(text2)] == [
        "Staats-",
        "und",
        "Parteichef",
        "W.",
        "Hirschfeld",
        "(",
        "geb.",
        "1980",
        ")",
        "sah",
        "z.B.",
        "die",
        "1980er",
        "Jahre",
        ",",
        "Friedrich",
        "II.",
        "und",
        "-Richtlinien",
        ".",
    ]
    # a closing quote stays with its sentence; "Dr." and "R." do not end one
    quoted = '"Wir gewinnen." Dr. Andreas R. sagte das. Gut!'
    assert [" ".join(quoted[a:b] for a, b in s) for s in sentences(quoted, tokenize(quoted))] == [
        '" Wir gewinnen . "',
        "Dr. Andreas R. sagte das .",
        "Gut !",
    ]
    sents = [[text[a:b] for a, b in s] for s in sentences(text, tokenize(text))]
    assert [s[-1] for s in sents] == [".", "!", "."]
    assert sents[0][:3] == ["Am", "3.", "Oktober"]


def test_lexicon_reads_its_sections():
    text = (
        "# a lexicon\n## clusters: word<TAB>k64<TAB>k256<TAB>k1024\nMerkel\t1\t2\t3\n# a "
        "comment row\n"
        "## gazetteer: word<TAB>kinds\nWien\tLOC\nKreml\tORG,LOC\n## nouns: forms\nhaus\nbaum\n\n"
        "## names: tokens<TAB>label\nAngela Merkel\tPER\n"
    )
    lexicon = Lexicon(text)
    assert lexicon.clusters == {"Merkel": ("1", "2", "3")}
    assert lexicon.gazetteer == {"Wien": ("LOC",), "Kreml": ("ORG", "LOC")}
    assert lexicon.nouns == {"haus", "baum"} and lexicon.names == {("Angela", "Merkel"): "PER"}
    assert lexicon.freq == {}
    assert Lexicon(text + "## freq: word<TAB>band\nhaus\t11\n").freq == {"haus": "11"}


def test_features_read_words_in_capitals_as_names():
    """A dateline's "MANAGUA" gets the gazetteer kinds and clusters of "Managua"; an abbreviation
    that is itself listed keeps its own; frequency bands mark common words."""
    lexicon = Lexicon(
        "## clusters: word<TAB>k\nManagua\t7\n## gazetteer: word<TAB>kinds\nManagua\tgeo\n"
        "NATO\tsd-org\n## freq: word<TAB>band\nhaus\t11\n"
    )
    featurizer = Featurizer(lexicon)
    own, context = featurizer.word_parts("MANAGUA")
    assert {"g=geo", "c0=7", "allcaps", "czf=0"} <= set(own) and "g=geo" in context
    assert "g=sd-org" in featurizer.word_parts("NATO")[0]
    assert "czf=11" in featurizer.word_parts("Haus")[0]
    assert "zf=11" in featurizer.word_parts("haus")[0]
    assert not any(f.startswith(("g=", "c0=")) for f in featurizer.word_parts("Haus")[0])
    # a dateline's city in capitals that the gazetteer lists as a place: the place's own features
    places = Featurizer(Lexicon("## gazetteer: word<TAB>kinds\nBelgrad\tplace\nNATO\tsd-org\n"))
    own, context = places.word_parts("BELGRAD")
    assert "caps-place" in own and "allcaps" not in own and "g=place" in context
    assert own[:-1] == places.word_parts("Belgrad")[0]
    assert "caps-place" not in places.word_parts("NATO")[0]


def test_a_genitive_owner_is_the_mention_not_the_noun_after_it(normalizer):
    """ "Schapers Vermerke": the span is cut to the owner (the noun is no part of the name)."""
    assert normalizer.noun_after_genitive(["Schapers", "Vermerke"])
    assert not normalizer.noun_after_genitive(["Hamburger", "Hafen"])
    assert not normalizer.noun_after_genitive(["Merkels"])


def _sentences_token_by_token(text, spans):
    """The sentence splitter's rules applied to every token: the reference for the fast one."""
    from newssearch.enrich.entities import _ABBREVIATIONS, _CLOSERS, _SENTENCE_END

    out, current, closing = [], [], False
    for i, (start, end) in enumerate(spans):
        token = text[start:end]
        if current and (
            (closing and token not in _CLOSERS) or "\n\n" in text[current[-1][1] : start]
        ):
            out.append(current)
            current, closing = [], False
        current.append((start, end))
        if closing or token not in _SENTENCE_END:
            if len(current) >= 200:
                out.append(current)
                current, closing = [], False
            continue
        before = text[spans[i - 1][0] : spans[i - 1][1]] if i else ""
        abbreviation = token == "." and (
            before in _ABBREVIATIONS
            or (len(before) == 1 and before.isalpha())
            or (before.isdigit() and len(before) <= 2)
        )
        if not abbreviation and (i + 1 == len(spans) or not text[spans[i + 1][0]].islower()):
            closing = True
    return [*out, current] if current else out


_PIECES = [
    ".",
    "!",
    "?",
    "Dr",
    "z",
    "B",
    "3",
    "12",
    "123",
    "\n\n",
    "\n",
    " ",
    '"',
    "»",
    ")",
    "]",
    "wort",
    "Wort",
    "-",
    "ein langer Satz ohne Ende " * 20,
]  # 100 tokens: sentences of 200 and more


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=700))
def test_sentences_follow_the_rules_token_by_token(pieces):
    """Blank lines, stops, abbreviations, closers and the 200-token cut, in any mix."""
    text = "".join(pieces)
    spans = tokenize(text)
    assert sentences(text, spans) == _sentences_token_by_token(text, spans)


def test_sentences_of_german_news_follow_the_rules_token_by_token(shared_data):
    with open(shared_data / "corpus" / "gnad.jsonl", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    differ = [
        t[:80]
        for t in texts
        if sentences(t, tokenize(t)) != _sentences_token_by_token(t, tokenize(t))
    ]
    assert not differ


ARTICLES = [
    {
        "id": "e1",
        "title": "Merkel trifft Macron in Paris",
        "text": "Bundeskanzlerin Angela Merkel hat in Paris den französischen Präsidenten Emmanuel "
        "Macron getroffen. "
        "Merkel und Macron sprachen über die Europäische Union und die NATO.",
    },
    {
        "id": "e2",
        "title": "Putin empfängt Xi in Moskau",
        "text": "Der russische Präsident Wladimir Putin hat den chinesischen Staatschef "
        "Xi Jinping in Moskau empfangen. "
        "Putins Sprecher sagte, der Kreml sei zufrieden.",
    },
    {
        "id": "e3",
        "title": "Merkel in Moskau",
        "text": "Angela Merkel ist nach Moskau gereist. Dort traf sie Wladimir Putin. Die NATO "
        "beobachtet das Treffen.",
    },
    {
        "id": "e4",
        "title": "Siemens baut in Berlin",
        "text": "Der Konzern Siemens investiert in Berlin. Siemens-Chef Joe Kaeser kündigte "
        "500 neue Stellen an.",
    },
    {
        "id": "e5",
        "title": "Wetter",
        "text": "Morgen wird es regnerisch und kühl, am Wochenende sonnig.",
    },
]


@pytest.fixture
def entity_ns(tmp_path):
    with NewsSearch(tmp_path / "ix", Config(index=tmp_path / "ix")) as ns:
        ns.index([write_jsonl(tmp_path / "c" / "a.jsonl", ARTICLES)])
        yield ns


def brute_force(ns, text, facet, **kw):
    """Articles per entity key, the obvious way: the stored entities of every match."""
    hits = ns.search(text, limit=10_000, **kw).hits
    return Counter(k for h in hits for k in {name_key(n) for n in h.entities[facet]})


def assert_exact(ns, text, **kw):
    result = ns.search(text, facets=("person", "org", "place"), limit=1, **kw)
    for facet, values in result.facets.items():
        truth = brute_force(ns, text, facet, **kw)
        assert {name_key(name): n for name, n in values} == dict(truth.most_common(len(values)))
        assert [n for _, n in values] == sorted((n for _, n in values), reverse=True)
        if len(values) < 10:
            assert len(values) == len(truth)
    return result


def test_entity_fields_and_search(entity_ns):
    hit = entity_ns.search("Siemens").hits[0]
    assert "Siemens" in hit.entities["org"] and "Berlin" in hit.entities["place"]
    assert {h.id for h in entity_ns.search("person:putin").hits} == {"e2", "e3"}
    assert {h.id for h in entity_ns.search('person:"Wladimir Putin"').hits} == {"e2", "e3"}
    assert {h.id for h in entity_ns.search("place:moskau").hits} == {"e2", "e3"}
    assert entity_ns.search("person:wetter").total == 0


@pytest.mark.parametrize(
    "text, kw",
    [
        ("Merkel OR Putin OR Siemens OR Wetter", {}),
        ("Moskau", {}),
        ("Merkel OR Putin", {"filters": {"place": ["Moskau"]}}),
    ],
)
def test_entity_facets_match_brute_force(entity_ns, text, kw):
    assert_exact(entity_ns, text, **kw)


def test_entity_filters_are_exact_and_combine(entity_ns):
    everything = "Merkel OR Putin OR Siemens OR Wetter OR Macron"
    hits = entity_ns.search(everything, limit=100).hits
    for facet in ("person", "org", "place"):
        for name in {n for h in hits for n in h.entities[facet]}:
            expected = {
                h.id for h in hits if name_key(name) in {name_key(n) for n in h.entities[facet]}
            }
            got = {
                h.id for h in entity_ns.search(everything, limit=100, filters={facet: [name]}).hits
            }
            assert got == expected, (facet, name)
    both = entity_ns.search(
        everything, limit=100, filters={"person": ["Angela Merkel", "Wladimir Putin"]}
    ).hits
    assert {h.id for h in both} == {"e3"}
    # spelling does not matter, a name nobody mentions matches nothing
    assert {h.id for h in entity_ns.search(everything, filters={"place": ["MOSKAU"]}).hits} == {
        "e2",
        "e3",
    }
    assert entity_ns.search(everything, filters={"person": ["Niemand Bekannt"]}).total == 0
    with pytest.raises(QueryError):
        entity_ns.search(everything, filters={"people": ["Merkel"]})


def test_whole_index_entities(entity_ns):
    top = entity_ns.entities(top=3)
    assert set(top) == {"person", "org", "place"}
    assert dict(top["place"])["Moskau"] == 2
    assert len(top["person"]) <= 3


def test_entities_off_in_config(tmp_path):
    config = Config(index=tmp_path / "ix").replace(enrich=EnrichConfig(entities=False))
    with NewsSearch(tmp_path / "ix", config) as ns:
        ns.index([write_jsonl(tmp_path / "c" / "a.jsonl", ARTICLES)])
        assert ns.search("Merkel", facets=("person",)).facets["person"] == ()
        assert ns.search("Merkel").total > 0


def test_cli_entities_extract_and_filters(tmp_path):
    corpus = write_jsonl(tmp_path / "c" / "a.jsonl", ARTICLES)
    runner = CliRunner()
    ix = ["--index", str(tmp_path / "ix")]
    assert runner.invoke(cli, ["index", str(corpus), *ix, "-q"]).exit_code == 0
    out = runner.invoke(cli, ["query", "Moskau", "--facets", *ix])
    assert out.exit_code == 0, out.output
    assert "Places: Moskau (2)" in out.output and "People: " in out.output
    out = runner.invoke(
        cli, ["query", "Moskau", "--person", "Angela Merkel", "--json", "--facets", *ix]
    )
    data = json.loads(out.output)
    assert [h["id"] for h in data["hits"]] == ["e3"]
    assert ["Moskau", 1] in data["facets"]["place"]
    assert "Angela Merkel" in data["hits"][0]["entities"]["person"]
    out = runner.invoke(cli, ["entities", "--label", "LOC", "--top", "2", "--json", *ix])
    assert out.exit_code == 0, out.output
    assert list(json.loads(out.output)) == ["place"] and len(json.loads(out.output)["place"]) == 2
    out = runner.invoke(cli, ["entities", *ix])
    assert "People:" in out.output and "Organisations:" in out.output
    out = runner.invoke(cli, ["extract", str(SEED)])
    assert out.exit_code == 0 and "Xi Jinping" in out.output and "-> Putin" in out.output
    out = runner.invoke(cli, ["extract", "-", "--json"], input="Angela Merkel besucht Paris.")
    data = json.loads(out.output)
    assert {"label": "PER", "name": "Angela Merkel"} in data["entities"]
    assert data["mentions"][0]["start"] == 0
    out = runner.invoke(cli, ["query", "Moskau", "--csv", *ix])
    assert "person" in out.output.splitlines()[0]
    for command in ("entities", "extract"):
        assert runner.invoke(cli, [command, "--help"]).exit_code == 0
    out = runner.invoke(cli, ["entities", "--index", str(tmp_path / "none")])
    assert out.exit_code == 1 and "newssearch index" in out.output


def test_retag_keeps_entities(tmp_path):
    corpus = write_jsonl(tmp_path / "c" / "a.jsonl", ARTICLES)
    config = Config(index=tmp_path / "ix")
    with NewsSearch(tmp_path / "ix", config) as ns:
        ns.index([corpus])
        before = ns.search("Moskau OR Merkel", facets=("person", "org", "place"), limit=10)
    tagged = config.replace(topics={"Russland": "Moskau"})
    with NewsSearch(tmp_path / "ix", tagged) as ns:
        assert ns.retag().retagged == 2
        after = ns.search("Moskau OR Merkel", facets=("person", "org", "place"), limit=10)
        assert ns.search("Moskau", filters={"topic": ["Russland"], "place": ["Moskau"]}).total == 2
    assert after.facets == before.facets
    assert [h.entities for h in after.hits] == [h.entities for h in before.hits]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_extraction_never_fails_and_offsets_hold(text):
    for e in extract_entities(text):
        assert (
            text[e.start : e.end] == e.text and e.label in ("PER", "ORG", "LOC") and e.name.strip()
        )


def test_extraction_on_odd_german_text():
    text = (
        "Dr. Angela Merkel (CDU) traf am 3. Oktober 2016 in Berlin-Mitte den U.S.-Präsidenten. "
        "„Wir schaffen das“, sagte sie.\n\nBERLIN — Die SPD-Chefin Andrea Nahles' Pläne … 😀 "
        "#Merkel @spdde"
    )
    found = extract_entities(text)
    names = {(e.label, e.name) for e in found}
    assert ("PER", "Angela Merkel") in names
    assert all(text[e.start : e.end] == e.text for e in found)


def test_cli_extract_refuses_non_utf8(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Angela Merkel in Köln".encode("latin-1"))
    out = CliRunner().invoke(cli, ["extract", str(bad)])
    assert out.exit_code == 1 and "not UTF-8" in out.output and "Traceback" not in out.output


# --- the numpy CRF against CRFsuite's own tagger ----------------------------------------------

SENTENCES = [
    "Bundeskanzlerin Angela Merkel traf am Montag in Berlin den französischen Präsidenten "
    "Emmanuel Macron .",
    "Die Europäische Zentralbank in Frankfurt am Main hält den Leitzins stabil .",
    "Siemens und die Deutsche Bahn streiten vor dem Landgericht München über Millionen .",
    "Wien",
    "Putins Sprecher Dmitri Peskow sagte der Nachrichtenagentur Tass , Moskau sei bereit .",
    "Im Ruhrgebiet schließen die letzten Zechen der RAG AG ; der FC Schalke 04 trauert .",
]


def _crfsuite_reference(tagger, sentences):
    import pycrfsuite

    reference = pycrfsuite.Tagger()
    reference.open(str(tagger.model_path))
    # the names our reader takes from the model file are CRFsuite's own
    info = reference.info()
    assert tagger.model.attributes == {name: int(i) for name, i in info.attributes.items()}
    assert {name: i for i, name in enumerate(tagger.model.labels)} == {
        n: int(i) for n, i in info.labels.items()
    }
    out = []
    for words in sentences:
        tags = reference.tag(tagger.featurizer.features(words))
        out.append((tags, [reference.marginal(t, i) for i, t in enumerate(tags)]))
    return out


def _assert_same_as_crfsuite(tagger, sentences):
    decoded = tagger.model.decode([tagger.emissions(words) for words in sentences])
    for words, (tags, marginals), (ids, ours) in zip(
        sentences, _crfsuite_reference(tagger, sentences), decoded, strict=False
    ):
        assert [tagger.model.labels[i] for i in ids] == list(tags), words
        assert ours == pytest.approx(marginals, abs=1e-9), words


def test_numpy_crf_tags_and_marginals_equal_crfsuite():
    from newssearch.enrich.entities import entity_extractor

    tagger = entity_extractor().tagger
    sentences = [s.split(" ") for s in SENTENCES]
    _assert_same_as_crfsuite(tagger, sentences)
    # one batch or one sentence at a time: the same spans
    assert tagger.tag_many(sentences) == [tagger.tag_tokens(s) for s in sentences]
    assert tagger.tag_many([]) == [] and tagger.tag_tokens([]) == set()


def test_numpy_crf_word_table_starts_over_when_full(monkeypatch):
    from newssearch.enrich.entities import Lexicon, Tagger, entity_extractor

    shipped = entity_extractor().tagger
    tagger = Tagger(shipped.model_path, shipped.featurizer.lexicon, shipped.threshold)
    monkeypatch.setattr(Tagger, "WORD_CACHE", 25)
    sentences = [s.split(" ") for s in SENTENCES] * 3
    assert tagger.tag_many(sentences) == shipped.tag_many(sentences)
    assert len(tagger._words) < 25
    assert isinstance(tagger.featurizer.lexicon, Lexicon)


def test_crf_group_scores_equal_scores_to_the_last_bit():
    """A word's five score rows made at once are scores() of each feature group, exactly."""
    import numpy as np

    from newssearch.enrich.entities import _OFFSETS, entity_extractor

    tagger = entity_extractor().tagger
    model = tagger.model
    for word in {w for s in SENTENCES for w in s.split(" ")} | {"Zzxqy-Unbekannt", "ä"}:
        own, lent = tagger.featurizer.word_features(word)
        groups = [own, *(lent[off] for off in _OFFSETS)]
        assert np.array_equal(
            model.group_scores(groups), np.array([model.scores(g) for g in groups])
        ), word
    assert np.array_equal(
        model.group_scores([[], ["no such feature"]]), np.zeros((2, len(model.labels)))
    )


def test_word_table_scores_words_as_their_feature_groups(monkeypatch):
    """New words scored in slices (of 2 here), with the bigram filter: CRFsuite's sums per token."""
    import numpy as np

    from newssearch.enrich.entities import _OFFSETS, Tagger, entity_extractor

    shipped = entity_extractor().tagger
    tagger = Tagger(shipped.model_path, shipped.featurizer.lexicon, shipped.threshold)
    monkeypatch.setattr(Tagger, "SCORE_SLICE", 2)
    model, sentences = (
        tagger.model,
        [s.split(" ") for s in SENTENCES] + [["Zzxqy-Unbekannt", "|", "ä"]],
    )
    emissions = tagger.emissions_many(sentences)
    for word, row in tagger._words.items():
        own, lent = tagger.featurizer.word_features(word)
        groups = [own, *(lent[off] for off in _OFFSETS)]
        assert np.array_equal(tagger._table[row], np.array([model.scores(g) for g in groups])), word
    bigrams = 0
    for words, scores in zip(sentences, emissions, strict=False):
        features = tagger.featurizer.features(words)
        bigrams += sum(f in model.attributes for fs in features for f in fs if f.startswith("bi"))
        assert scores == pytest.approx(
            np.array([model.scores(fs) for fs in features]), abs=1e-12
        ), words
    assert bigrams  # the sentences have bigrams the model weighs


def test_numpy_crf_on_germeval_equals_crfsuite(shared_data):
    from newssearch.enrich.entities import entity_extractor

    sentences, current = [], []
    lines = (shared_data / "ner" / "germeval2014_dev.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        current.append(line.split("\t")[1])
    _assert_same_as_crfsuite(entity_extractor().tagger, sentences[:1000])


def test_numpy_crf_tagger_shared_between_threads():
    from concurrent.futures import ThreadPoolExecutor

    from newssearch.enrich.entities import Tagger, entity_extractor

    shipped = entity_extractor().tagger
    fresh = Tagger(shipped.model_path, shipped.featurizer.lexicon, shipped.threshold)
    batches = [
        [s.split(" ") for s in SENTENCES[i:] + SENTENCES[:i]] for i in range(len(SENTENCES))
    ] * 4
    with ThreadPoolExecutor(4) as threads:
        got = list(threads.map(fresh.tag_many, batches))
    assert got == [shipped.tag_many(b) for b in batches]


def test_spans_are_cut_at_a_lone_dash():
    words = ["Dynamo", "Dresden", "-", "Hamburger", "SV", "2", ":", "1"]
    assert split_at_dashes(words, [(0, 5, "ORG")]) == [(0, 2, "ORG"), (3, 5, "ORG")]
    assert split_at_dashes(words, [(0, 2, "ORG")]) == [(0, 2, "ORG")]
    assert split_at_dashes(["-"], [(0, 1, "ORG")]) == []


def test_genitive_evidence_from_word_frequencies():
    """With a small cluster vocabulary, a common word (frequency band) still counts as known."""
    lexicon = Lexicon("## freq: word<TAB>band\ntrump\t9\nzorb\t3\n")
    normalizer = Normalizer(lexicon)
    assert normalizer.base_form("Trumps", set(), "PER") == "Trump"
    assert normalizer.base_form("Zorbs", set(), "PER") == "Zorbs"


def test_shipped_lexicon_states_shippable_sources():
    """The clusters line of the shipped lexicon names only text whose licence allows shipping
    (a rebuild with ``--corpus news`` says "research only" there, and must not ship)."""
    import gzip
    from importlib import resources

    source = resources.files("newssearch").joinpath("data", "entities_de.tsv.gz")
    with source.open("rb") as raw:
        header = [
            line
            for line in gzip.decompress(raw.read()).decode("utf-8").splitlines()[:5]
            if line.startswith("# Clusters:")
        ]
    assert header and "CC BY 4.0" in header[0]
    assert "research only" not in header[0] and "headlines" not in header[0]
