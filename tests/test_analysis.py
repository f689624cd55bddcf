import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import AnalysisConfig, analyze, build_analyzer
from newssearch.text.analysis import german_stopwords


def terms(text: str, **kw) -> list[str]:
    return analyze(text, AnalysisConfig(**kw))


@pytest.mark.parametrize(
    "a, b",
    [
        ("Bündnis", "Bündnisse"),
        ("Putins", "Putin"),
        ("Flüchtlinge", "Flüchtling"),
        ("Länder", "Land"),
        ("Gesprächen", "Gespräche"),
        ("Kooperationen", "Kooperation"),
    ],
)
def test_inflected_forms_meet(a, b):
    assert terms(a) == terms(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("München", "Muenchen"),
        ("Straße", "Strasse"),
        ("Gespräche", "Gespraeche"),
        ("Übung", "Uebung"),
    ],
)
def test_umlaut_and_sharp_s_spellings_meet(a, b):
    assert terms(a) == terms(b)


def test_umlaut_folding_can_be_switched_off():
    assert terms("München", umlauts="none") != terms("Muenchen", umlauts="none")


def test_german_stop_words_go_english_words_stay():
    assert terms("der die das und mit für über") == []
    assert terms("US May") == ["us", "may"]
    assert terms("der US-Präsident", stopwords="none")[0] == "der"


def test_stop_list_has_no_english_words():
    stop = german_stopwords()
    assert {"us", "may", "the", "can", "will"} & stop == {"will"}  # "will" is German too
    assert "daß" in stop and "dass" in stop and "fuer" in stop


def test_hyphenated_words_give_parts_and_joined_form():
    assert terms("Ukraine-Konflikt") == ["ukrainekonflikt", "ukrain", "konflikt"]
    assert analyze("Ukraine-Konflikt", mode="query") == ["ukrain", "konflikt"]
    assert terms("Ukraine-Konflikt", hyphens=False) == ["ukraine-konflikt"]


def test_positions_and_offsets_survive_hyphen_split():
    text = "im Ukraine-Konflikt sprach Putin"
    toks = [
        (t.text, t.pos, text[t.startchar : t.endchar])
        for t in build_analyzer()(text, positions=True, chars=True)
    ]
    first = toks[1][1]
    assert toks[1:3] == [("ukrain", first, "Ukraine"), ("konflikt", first + 1, "Konflikt")]
    assert toks[0] == (
        "ukrainekonflikt",
        first,
        "Ukraine-Konflikt",
    )  # joined form shares the position
    assert toks[-1] == ("putin", first + 3, "Putin")


def test_numbers_stay_whole():
    assert terms("2:1 am 20.45 Uhr, 1.000 Euro") == ["2:1", "20.45", "uhr", "1.000", "euro"]


def test_cistem_and_no_stemming_options():
    assert terms("Bündnisse", stemmer="none") == ["bundnisse"]
    assert terms("Flüchtlinge", stemmer="cistem") == terms("Flüchtling", stemmer="cistem")


def test_same_tokens_at_index_and_query_time_without_hyphens():
    text = "Die jüngsten Gespräche zwischen den Präsidenten Russlands und Chinas in Peking"
    assert analyze(text, mode="index") == analyze(text, mode="query")


def test_analyzer_pickles_and_behaves_the_same():
    analyzer = build_analyzer(AnalysisConfig(stemmer="cistem"))
    analyzer("Warm-up Bündnisse")  # fill the cache; it must not travel
    clone = pickle.loads(pickle.dumps(analyzer))
    assert [t.text for t in clone("Bündnisse über München")] == [
        t.text for t in analyzer("Bündnisse über München")
    ]
    assert clone == analyzer


# -- the one-loop evaluation of the chain (analysis.index_positions) -----------------------------

CONFIGS = [
    AnalysisConfig(),
    AnalysisConfig(decompound=False),
    AnalysisConfig(hyphens=False),
    AnalysisConfig(stopwords="none"),
    AnalysisConfig(umlauts="none"),
    AnalysisConfig(stemmer="cistem"),
    AnalysisConfig(stemmer="none", decompound=False, hyphens=False),
]

TRICKY = [
    "Staats- und Parteichef Xi traf Außen- oder Innenminister, Fußball-Fans jubelten.",
    "Die Ukraine-Konflikt-Gespräche: Kooperationsabkommen mit Nord-Süd-Gefälle am 3.000. Tag",
    "der die das und -- Bundeskanzleramts-Chefin ‐ Wahl‑Kampf E-Mail-Adresse 20.45 2:1",
    "Bundes- bzw. Landesregierung sowie Kreis- und Gemeinderäte; Sicherheitsrats-Resolution",
    "x" * 70 + " Donaudampfschifffahrtsgesellschaftskapitän Anti-Terror-Gesetz",
    "",
    "   ",
]


def _whoosh_positions(analyzer, text: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for t in analyzer(text, positions=True, mode="index"):
        out.setdefault(t.text, []).append(t.pos)
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_index_positions_equal_whooshs_chain(config):
    from newssearch.text.analysis import index_positions

    analyzer = build_analyzer(config)
    for text in TRICKY:
        assert index_positions(analyzer, text) == _whoosh_positions(analyzer, text), text


def test_index_positions_only_for_the_chain_it_knows():
    from whoosh.analysis import StandardAnalyzer

    from newssearch.text.analysis import build_keyword_analyzer, index_positions

    assert index_positions(build_keyword_analyzer(), "Der Standard") is None
    assert index_positions(StandardAnalyzer(), "Der Standard") is None


@given(
    st.lists(
        st.sampled_from(
            [
                "Staats",
                "und",
                "-",
                "‑",
                " ",
                "Fußball",
                "fans",
                "Bundes",
                "der",
                "oder",
                "kanzler",
                "amt",
                "3",
                ".",
                ",",
                "Ä",
                "wahl",
                "Kampf",
                "x" * 33,
            ]
        ),
        max_size=30,
    )
)
@settings(max_examples=300, deadline=None)
def test_index_positions_equal_whooshs_chain_on_any_text(pieces):
    from newssearch.text.analysis import index_positions

    text = "".join(pieces)
    for config in (CONFIGS[0], CONFIGS[2]):
        analyzer = build_analyzer(config)
        assert index_positions(analyzer, text) == _whoosh_positions(analyzer, text)


def test_index_positions_equal_whooshs_chain_on_german_news(shared_data):
    import json

    from newssearch.text.analysis import index_positions

    with open(shared_data / "corpus" / "gnad.jsonl", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    analyzer = build_analyzer(AnalysisConfig())
    differ = [
        t[:80] for t in texts if index_positions(analyzer, t) != _whoosh_positions(analyzer, t)
    ]
    assert not differ


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_word_terms_equal_whooshs_chain_in_order(config):
    """The classifier's per-word terms: the chain's, in its order and with repeats (counts matter)."""
    from newssearch.text.analysis import build_keyword_analyzer, word_terms

    analyzer = build_analyzer(config)
    words = {w.lower() for text in TRICKY for w in text.split()} | {
        "nord-nord",
        "fußball-fans",
        "staats-",
    }
    for word in sorted(words):
        assert word_terms(analyzer, word) == tuple(t.text for t in analyzer(word, mode="index")), (
            word
        )
    assert word_terms(build_keyword_analyzer(), "Der Standard") == (
        "der",
        "standard",
    )  # any other chain: Whoosh's


def test_word_terms_of_words_the_fused_loop_kept_are_the_chains():
    """A word met in a text is looked up, not analysed again: the same terms as the chain's for it alone."""
    from newssearch.text.analysis import index_positions, word_terms

    analyzer = build_analyzer(AnalysisConfig())
    texts = [*TRICKY, "İstanbul 2016abc Staats- und Parteichef, Fußball-Fans in Nord-Nord-West"]
    for text in texts:
        index_positions(analyzer, text)
    words = {w.lower() for text in texts for w in re.findall(r"\w+", text)}
    assert words & set(
        analyzer.items[-1]._plain[next(iter(analyzer.items[-1]._plain))]
    )  # some are kept
    for word in sorted(words):
        assert word_terms(analyzer, word) == tuple(t.text for t in analyzer(word, mode="index")), (
            word
        )
