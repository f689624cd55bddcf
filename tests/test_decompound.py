"""The compound splitter on real words of the shared corpus (gnad.jsonl) and the issue's examples."""

import pytest

from newssearch import AnalysisConfig, analyze
from newssearch.text.decompound import Splitter

COMPOUNDS = {
    "Kooperationsabkommen": "kooperation abkommen",
    "Rüstungsindustrie": "rüstung industrie",
    "Flüchtlingsunterkunft": "flüchtling unterkunft",
    "Gesundheitsministerium": "gesundheit ministerium",
    "Filmgeschäft": "film geschäft",
    "Händlerangebote": "händler angebot",
    "Sprungfähigkeit": "sprung fähigkeit",
    "Aufenthaltsbewilligung": "aufenthalt bewilligung",
    "Speisesaal": "speise saal",
    "Volksanwälte": "volk anwalt",
    "Einzelspieler": "einzel spieler",
    "Hirnforschung": "hirn forschung",
    "Gesetzestext": "gesetz text",
    "Protestcamp": "protest camp",
    "Unabhängigkeitserklärung": "unabhängigkeit erklärung",
    "Flüchtlingshelfer": "flüchtling helfer",
    "Bauarbeiter": "bau arbeiter",
    "Hauptstadt": "haupt stadt",
    "Haftbefehls": "haft befehl",
    "Liebesgeschichte": "liebe geschichte",
    "Staatsfeind": "staat feind",
    "Berufsleben": "beruf leben",
    "Umweltministerin": "umwelt ministerin",
    "Fotoqualität": "foto qualität",
    "Strommarkt": "strom markt",
    "Museumsbesucher": "museum besucher",
    "Religionsgemeinschaft": "religion gemeinschaft",
    "Sanddünen": "sand düne",
    "Militäraktion": "militär aktion",
    "Rettungskredit": "rettung kredit",
    "Lichtbedingungen": "licht bedingung",
    "Kriminalitätsentwicklung": "kriminalität entwicklung",
    "Sicherheitsgesetz": "sicherheit gesetz",
    "Maßnahmenbündel": "maßnahme bündel",
    "Philosophieunterricht": "philosophie unterricht",
    "Veränderungsbedarf": "veränderung bedarf",
    "Sportschuhe": "sport schuh",
    "Frauenverbänden": "frau verband",
    "Arbeitsmöglichkeiten": "arbeit möglichkeit",
    "Anschaffungspreis": "anschaffung preis",
    "Terroranschlägen": "terror anschlag",
    "Fußballspieler": "fußball spieler",
    "Steueroase": "steuer oase",
    "Unfallstelle": "unfall stelle",
    "Auskunftspflicht": "auskunft pflicht",
    "Agenturmeldungen": "agentur meldung",
}

NOT_COMPOUNDS = [
    "Bundesrat",
    "Russlands",
    "Salzburg",
    "Mattersburg",
    "Barisic",
    "Präsidenten",
    "Gespräche",
    "Beziehungen",
    "Verhältnis",
    "Zusammenarbeit",
    "Herausforderungen",
    "Assistenten",
    "Desinformation",
    "Typisches",
    "Munition",
    "Niederlassung",
    "Industrialisierung",
    "Therapeuten",
    "Kommissar",
    "Persönlichkeit",
    "Einschränkung",
    "Anwendungen",
    "Österreich",
    "Deutschland",
    "Washington",
    "Innsbruck",
    "Putin",
    "Bündnis",
]


@pytest.fixture(scope="module")
def splitter():
    return Splitter()


@pytest.mark.parametrize("word, parts", COMPOUNDS.items())
def test_compounds_split_into_lemmas(splitter, word, parts):
    assert " ".join(lemma for _, lemma in splitter.split(word.lower())) == parts


@pytest.mark.parametrize("word", NOT_COMPOUNDS)
def test_names_and_simple_words_stay_whole(splitter, word):
    assert splitter.split(word.lower()) == []


def test_enough_real_cases():
    assert len(COMPOUNDS) >= 40 and len(NOT_COMPOUNDS) >= 20


def test_analyzer_indexes_whole_word_and_parts():
    assert analyze("Kooperationsabkommen") == ["kooperationsabkomm", "kooperation", "abkomm"]
    assert analyze("Kooperationsabkommen", mode="query") == ["kooperation", "abkomm"]
    assert analyze("Kooperationsabkommen", AnalysisConfig(decompound=False)) == [
        "kooperationsabkomm"
    ]


def test_elided_head_is_restored():
    terms = analyze("Chinas Staats- und Parteichef")
    assert "staatschef" in terms and "parteichef" in terms and "chef" in terms


def test_hyphenated_and_closed_forms_meet():
    doc = set(analyze("die neuen Tarnkappen-Jets"))
    assert set(analyze("Tarnkappenjets", mode="query")) <= doc
    assert set(analyze("Tarnkappen Jets", mode="query")) <= doc
