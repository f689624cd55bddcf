import pickle

import pytest

from newssearch import AnalysisConfig, analyze, build_analyzer
from newssearch.analysis import german_stopwords


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


@pytest.mark.parametrize("a, b", [("München", "Muenchen"), ("Straße", "Strasse"), ("Gespräche", "Gespraeche"), ("Übung", "Uebung")])
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
    toks = [(t.text, t.pos, text[t.startchar:t.endchar]) for t in build_analyzer()(text, positions=True, chars=True)]
    first = toks[1][1]
    assert toks[1:3] == [("ukrain", first, "Ukraine"), ("konflikt", first + 1, "Konflikt")]
    assert toks[0] == ("ukrainekonflikt", first, "Ukraine-Konflikt")  # joined form shares the position
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
    assert [t.text for t in clone("Bündnisse über München")] == [t.text for t in analyzer("Bündnisse über München")]
    assert clone == analyzer
