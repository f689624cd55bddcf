"""One name per entity across the archive (newssearch.archive.resolve) and the name rules."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import Config, NewsSearch
from newssearch.archive.resolve import base_form, load_entity_map, resolve_names
from newssearch.cli import cli
from newssearch.config import EntitiesConfig, config_from_dict
from newssearch.enrich.entities import extract_entities
from newssearch.enrich.names import shipped_names
from newssearch.errors import ConfigError
from newssearch.index.schema import entity_term
from newssearch.text.names import name_key as key

from .conftest import SEED, write_jsonl

# --- base forms and the pass on facet values -------------------------------------------------


@pytest.mark.parametrize(
    ("inflected", "base"),
    [
        ("Europäischen Union", "Europäische Union"),
        ("Europäische Union", "Europäische Union"),
        ("Obersten Gerichtshof", "Oberster Gerichtshof"),
        ("Oberste Gerichtshof", "Oberster Gerichtshof"),
        ("Europäischen Parlaments", "Europäisches Parlament"),
        ("Islamischen Staates", "Islamischer Staat"),
        ("Vereinigten Staaten", "Vereinigte Staaten"),
        ("Internationalen Währungsfonds", "Internationaler Währungsfonds"),
        ("Weißen Haus", "Weißes Haus"),
        ("Bayerischen Fernsehen", "Bayerisches Fernsehen"),
        ("Zughersteller Sachsen", "Zughersteller Sachsen"),
        ("Historischer Meilenstein", "Historischer Meilenstein"),
        ("Olympischen Spiele", "Olympische Spiele"),
        # no adjective inside: left alone
        ("Werder Bremen", "Werder Bremen"),
        ("Bayer Leverkusen", "Bayer Leverkusen"),
        ("Hannover 96", "Hannover 96"),
        (
            "Shanghaier Organisation für Zusammenarbeit",
            "Shanghaier Organisation für Zusammenarbeit",
        ),
    ],
)
def test_base_form(inflected: str, base: str) -> None:
    assert base_form(inflected) == base


def canonical(table: dict[str, str], value: str) -> str | None:
    return table.get(entity_term(value[:3], key(value[4:])))


def test_surnames_inflections_and_abbreviations_join() -> None:
    values = {
        "PER:Angela Merkel": 25,
        "PER:Merkel": 93,
        "PER:Donald Trump": 26,
        "PER:Ivanka Trump": 3,
        "PER:Trump": 34,
        "ORG:EU": 41,
        "ORG:Europäischen Union": 11,
        "ORG:Europäische Union": 7,
        "ORG:EZB": 7,
        "ORG:Europäischen Zentralbank": 5,
        "ORG:Oberste Gerichtshof": 2,
        "ORG:Obersten Gerichtshof": 3,
        "ORG:VW": 60,
        "ORG:Volkswagen": 23,
        "ORG:GER": 4,
        "LOC:Xinhua": 2,
        "ORG:Xinhua": 1,
        "ORG:Amtskollege Barack Obama": 1,
        "PER:Barack Obama": 6,
        "PER:Trumps Gipfelwoche": 1,
        "PER:Hans Peter": 2,
        "PER:Han": 9,
        "PER:Peter": 3,
    }
    table = resolve_names(list(values), list(values.values()))
    assert (
        canonical(table, "PER:Merkel")
        == canonical(table, "PER:Angela Merkel")
        == ("PER:Angela Merkel")
    )
    assert canonical(table, "PER:Trump") == "PER:Donald Trump"
    assert canonical(table, "PER:Ivanka Trump") == "PER:Ivanka Trump"
    eu = {
        canonical(table, v) for v in ("ORG:EU", "ORG:Europäischen Union", "ORG:Europäische Union")
    }
    assert eu == {"ORG:Europäische Union"}
    assert canonical(table, "ORG:EZB") == canonical(table, "ORG:Europäischen Zentralbank")
    assert canonical(table, "ORG:Obersten Gerichtshof") == "ORG:Oberster Gerichtshof"
    assert canonical(table, "ORG:Oberste Gerichtshof") == "ORG:Oberster Gerichtshof"
    assert canonical(table, "ORG:VW") == canonical(table, "ORG:Volkswagen") == "ORG:Volkswagen"
    assert canonical(table, "ORG:GER") == ""  # a sports-result code: never shown
    assert canonical(table, "LOC:Xinhua") == canonical(table, "ORG:Xinhua") == "ORG:Xinhua"
    assert canonical(table, "ORG:Amtskollege Barack Obama") == "PER:Barack Obama"
    # a genitive phrase taken for a name belongs to its owner; a first name ending in s does not
    assert canonical(table, "PER:Trumps Gipfelwoche") == "PER:Donald Trump"
    assert canonical(table, "PER:Hans Peter") == "PER:Hans Peter"


def test_an_ambiguous_surname_stays_as_it_is() -> None:
    values = {
        "PER:Müller": 10,
        "PER:Gerd Müller": 4,
        "PER:Thomas Müller": 3,
        "PER:Schmidt": 5,
        "PER:Andrea": 4,
        "PER:Andrea Nahles": 11,
        "PER:Andreas Haug": 1,
        "PER:Frank": 2,
        "PER:Frank-Walter Steinmeier": 40,
        "PER:Frank Plasberg": 3,
        "PER:Leitner": 2,
        "PER:Johanna Mikl-Leitner": 14,
        "PER:Xi": 3,
        "PER:Xi Jinping": 14,
        "ORG:SV": 1,
        "ORG:Silicon Valley": 5,
    }
    table = resolve_names(list(values), list(values.values()))
    assert canonical(table, "PER:Müller") == "PER:Müller"
    assert canonical(table, "PER:Schmidt") == "PER:Schmidt"  # no full name to join
    # a first name ending in s is no genitive; a first name shared by two names stays; a part
    # of a double name is no family name; two letters are too few for initials
    assert canonical(table, "PER:Andreas Haug") == "PER:Andreas Haug"
    assert canonical(table, "PER:Frank") == "PER:Frank"
    assert canonical(table, "PER:Leitner") == "PER:Leitner"
    assert canonical(table, "ORG:SV") == "ORG:SV"
    assert canonical(table, "PER:Xi") == "PER:Xi Jinping"


def test_user_aliases_kinds_and_hidden_names_win() -> None:
    values = {"PER:Mutti": 3, "PER:Angela Merkel": 5, "LOC:Lauterbach": 8, "ORG:Dings": 2}
    config = EntitiesConfig(
        aliases={"Mutti": "Angela Merkel"}, kinds={"Lauterbach": "PER"}, hide=("Dings",)
    )
    table = resolve_names(list(values), list(values.values()), config)
    assert canonical(table, "PER:Mutti") == "PER:Angela Merkel"
    assert canonical(table, "LOC:Lauterbach") == "PER:Lauterbach"
    assert canonical(table, "ORG:Dings") == ""


def test_the_shipped_list_is_well_formed() -> None:
    names = shipped_names()
    assert names.kinds[key("Xinhua")] == "ORG"
    assert names.kinds[key("Kreml")] == "ORG"
    assert names.aliases[key("EZB")] == ("ORG", "Europäische Zentralbank")
    assert key("GER") in names.hidden and key("USA") not in names.hidden


# --- name rules on extraction ----------------------------------------------------------------


def names_of(text: str) -> set[tuple[str, str]]:
    return {(e.label, e.name) for e in extract_entities(text)}


def test_name_particles_stay_inside_names() -> None:
    found = names_of("Bundespräsident Alexander Van der Bellen hat am Montag gesprochen.")
    assert ("PER", "Alexander Van der Bellen") in found
    found = names_of("Ursula von der Leyen traf Osama bin Laden nicht.")
    assert ("PER", "Ursula von der Leyen") in found
    assert ("PER", "Osama bin Laden") in found
    found = names_of("Der Dirigent Herbert von Karajan starb in Salzburg.")
    assert ("PER", "Herbert von Karajan") in found
    # a preposition after a surname is no particle
    found = names_of("Angela Merkel von der CDU sprach in Berlin.")
    assert ("PER", "Angela Merkel") in found and ("ORG", "CDU") in found


def test_roles_codes_and_known_s_names() -> None:
    assert ("ORG", "Reuters") in names_of(
        "Das berichtete die Nachrichtenagentur Reuters am Montag."
    )
    found = names_of("Xi traf seinen Amtskollegen Barack Obama. Dr. Angela Merkel sprach.")
    assert ("PER", "Barack Obama") in found and ("PER", "Angela Merkel") in found
    assert not {n for _, n in found} & {"Amtskollegen Barack Obama", "Dr. Angela Merkel"}
    assert ("ORG", "Europäische Union") in names_of("Die Europäische Union berät am Montag.")
    assert not {n for _, n in names_of("Im Finale: GER 3 AUT 1 nach Verlängerung.")} & {
        "GER",
        "AUT",
    }


def test_the_seed_article_lists_xinhua_and_the_kremlin_as_organisations() -> None:
    found = names_of(SEED.read_text("utf-8"))
    assert ("ORG", "Xinhua") in found and ("LOC", "Xinhua") not in found
    assert ("ORG", "Kreml") in found


# --- the pass on a real index -----------------------------------------------------------------

ARTICLES = [
    (
        "m1",
        "Bundeskanzlerin Angela Merkel reiste am Montag nach Paris. Merkel traf dort Präsident Macron.",
    ),
    ("m2", "Merkel sagte in Berlin, die Regierung werde die Hilfe verlängern."),
    ("m3", "Kanzlerin Merkel lobte die Einigung mit Frankreich."),
    ("m4", "Angela Merkel und Olaf Scholz sprachen in Berlin über die Haushaltslage."),
    ("e1", "Die EU will neue Sanktionen beschließen. Brüssel beriet am Montag."),
    ("e2", "Die Außenminister der Europäischen Union trafen sich in Luxemburg."),
    ("e3", "Die Europäische Union hat am Dienstag in Brüssel ein Abkommen unterzeichnet."),
    ("x1", "Die Nachrichtenagentur Xinhua meldete ein Treffen in Peking."),
]


@pytest.fixture
def merkel_index(tmp_path: Path):
    corpus = write_jsonl(
        tmp_path / "corpus" / "news.jsonl",
        [{"id": i, "title": None, "text": t} for i, t in ARTICLES],
    )
    with NewsSearch(tmp_path / "index", Config(index=tmp_path / "index")) as api:
        report = api.index([corpus])
        assert "entities:" in report.entity_names
        yield api, corpus


def ids(api: NewsSearch, **filters: list[str]) -> set[str]:
    return {h.id for h in api.search("*", filters=filters, limit=100).hits}


def test_any_alias_finds_the_canonical_entitys_articles(merkel_index) -> None:
    api, _ = merkel_index
    merkel = ids(api, person=["Merkel"])
    assert merkel == ids(api, person=["Angela Merkel"]) == {"m1", "m2", "m3", "m4"}
    eu = ids(api, org=["EU"])
    assert eu == ids(api, org=["Europäische Union"]) == ids(api, org=["Europäischen Union"])
    assert eu == {"e1", "e2", "e3"}
    assert ids(api, org=["Xinhua"]) == {"x1"}
    people = dict(api.entities(["person"], top=100)["person"])
    assert people["Angela Merkel"] == 4 and "Merkel" not in people
    hit = api.search("Kanzlerin lobte", limit=1).hits[0]
    assert hit.id == "m3" and hit.entities["person"] == ("Angela Merkel",)
    related = {h.id: h.entities.get("person", ()) for h in api.similar("m1", limit=10).hits}
    assert related and all("Merkel" not in people for people in related.values())
    assert ("Angela Merkel",) in related.values()


def test_facet_counts_of_canonical_names_are_exact(merkel_index) -> None:
    """Brute force: every article's stored names mapped one by one, each name once per article."""
    from newssearch.index.writer import open_index

    api, _ = merkel_index
    entity_map = load_entity_map(api.index_dir)
    assert entity_map is not None
    expected: dict[str, Counter] = {"person": Counter(), "org": Counter(), "place": Counter()}
    labels = {"person": "PER", "org": "ORG", "place": "LOC"}
    facets = {v: k for k, v in labels.items()}
    ix = open_index(api.index_dir, api.config.analysis)
    searcher = ix.searcher()
    for docnum in searcher.reader().all_doc_ids():
        fields = searcher.stored_fields(docnum)
        names = set()
        for facet, label in labels.items():
            for name in filter(None, (fields.get(facet) or "").split("\n")):
                value = entity_map.canonical(label, name)
                if value:
                    names.add(value)
        for value in names:
            expected[facets[value[:3]]][value[4:]] += 1
    searcher.close()
    ix.close()
    counted = api.entities(top=10_000)
    for facet, counter in expected.items():
        assert dict(counted[facet]) == dict(counter)
    # and over a query's matches
    result = api.search("Berlin", facets=["person", "place"], limit=1)
    matched = {h.id for h in api.search("Berlin", limit=100).hits}
    assert dict(result.facets["person"]).get("Angela Merkel") == len(
        matched & {"m1", "m2", "m3", "m4"}
    )


def test_user_aliases_apply_with_retag_without_the_corpus(merkel_index, tmp_path: Path) -> None:
    api, corpus = merkel_index
    corpus.unlink()  # retag reads no corpus
    config = Config(
        index=api.index_dir,
        entities=EntitiesConfig(
            aliases={"Macron": "Emmanuel Macron"}, kinds={"Brüssel": "ORG"}, hide=("Luxemburg",)
        ),
    )
    with NewsSearch(api.index_dir, config) as edited:
        report = edited.retag()
        assert "entities:" in report.entity_names
        counts = edited.entities(top=100)
        assert "Emmanuel Macron" in dict(counts["person"])
        assert "Brüssel" in dict(counts["org"]) and "Brüssel" not in dict(counts["place"])
        assert "Luxemburg" not in dict(counts["place"])
        assert ids(edited, person=["Macron"]) == ids(edited, person=["Emmanuel Macron"]) == {"m1"}


def test_an_unchanged_run_keeps_the_names_table_and_new_aliases_remake_it(merkel_index) -> None:
    api, corpus = merkel_index
    table = api.index_dir / "entities.json"
    made = table.stat().st_mtime_ns
    api.index([corpus])  # nothing changed: the table is not made again
    assert table.stat().st_mtime_ns == made
    config = Config(
        index=api.index_dir, entities=EntitiesConfig(aliases={"Macron": "Emmanuel Macron"})
    )
    with NewsSearch(api.index_dir, config) as edited:
        edited.index([corpus])  # the corpus is unchanged, the corrections are not
        assert table.stat().st_mtime_ns != made
        assert "Emmanuel Macron" in dict(edited.entities(top=100)["person"])


def test_cli_entities_and_retag(merkel_index, tmp_path: Path) -> None:
    api, _ = merkel_index
    config = tmp_path / "config.yaml"
    config.write_text(
        f"index: {api.index_dir}\nentities:\n  aliases:\n    Macron: Emmanuel Macron\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    out = runner.invoke(cli, ["retag", "--config", str(config)])
    assert out.exit_code == 0, out.output
    assert "entities:" in out.output
    out = runner.invoke(cli, ["entities", "--config", str(config), "--label", "PER"])
    assert out.exit_code == 0, out.output
    assert "Angela Merkel" in out.output and "Emmanuel Macron" in out.output
    assert not re.search(r"\d\s+Merkel$", out.output, re.M)
    out = runner.invoke(cli, ["query", "--config", str(config), "*", "--person", "Merkel"])
    assert out.exit_code == 0, out.output


def test_bad_entities_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"entities\.kinds\.Xinhua"):
        config_from_dict({"entities": {"kinds": {"Xinhua": "AGENCY"}}})
    with pytest.raises(ConfigError, match=r"entities\.synonyms"):
        config_from_dict({"entities": {"synonyms": {}}})
    with pytest.raises(ConfigError, match=r"entities\.hide"):
        config_from_dict({"entities": {"hide": [1]}})
    config = config_from_dict(
        {"entities": {"aliases": {"VW": "Volkswagen"}, "kinds": {"Kreml": "ORG"}, "hide": "GER"}}
    )
    assert config.entities.aliases == {"VW": "Volkswagen"}
    assert config.entities.hide == ("GER",)


# --- done when: gnad + 20,000 headlines ------------------------------------------------------


def headline_records(path: Path, n: int, step: int = 14) -> list[dict]:
    """Every ``step``-th headline as a record of its own (title only: the text is the title)."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step:
                continue
            r = json.loads(line)
            out.append(
                {
                    "id": r["id"],
                    "title": r["title"],
                    "text": r["title"],
                    "date": r["date"],
                    "source": r["outlet"],
                }
            )
            if len(out) >= n:
                break
    return out


def _initials(name: str) -> str:
    return "".join(w[0] for w in re.split(r"[\s-]+", name) if w[:1].isupper())


def _signature(name: str) -> str:
    """Words without inflection endings: "Europäischen Union" and "Europäische Union" agree."""
    return " ".join(re.sub(r"(en|em|er|es|e|s)$", "", w.lower()) for w in name.split(" "))


def same_entity_pairs(top: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """Pairs of shown values that name one entity: surname vs full name, inflected vs base
    form, abbreviation vs expansion (or the shipped alias list), one name under two kinds."""
    aliases = shipped_names().aliases
    pairs = []
    for facet, names in top.items():
        for a, b in itertools.permutations(names, 2):
            wa, wb = a.split(" "), b.split(" ")
            short = len(wa) < len(wb) and (wb[-len(wa) :] == wa or wb[0] == a)
            inflected = len(wa) > 1 and len(wa) == len(wb) and _signature(a) == _signature(b)
            abbreviation = a.isupper() and 2 <= len(a) <= 6 and len(wb) > 1 and _initials(b) == a
            alias = key(a) in aliases and aliases[key(a)] == aliases.get(key(b))
            if (facet == "person" and short) or abbreviation or (a < b and (inflected or alias)):
                pairs.append((facet, a, b))
    for f1, f2 in itertools.combinations(top, 2):
        for name in {key(n) for n in top[f1]} & {key(n) for n in top[f2]}:
            pairs.append((f"{f1}/{f2}", name, name))
    return pairs


def test_the_pair_finder_finds_each_kind_of_pair() -> None:
    top = {
        "person": ["Angela Merkel", "Merkel", "Xi Jinping", "Xi", "Olaf Scholz"],
        "org": ["Europäischen Union", "Europäische Union", "EZB", "Europäische Zentralbank"],
        "place": ["Deutschland", "Xinhua"],
    }
    top["org"].append("Xinhua")
    found = {(a, b) for _, a, b in same_entity_pairs(top)}
    assert {("Merkel", "Angela Merkel"), ("Xi", "Xi Jinping")} <= found
    assert ("Europäische Union", "Europäischen Union") in found
    assert ("EZB", "Europäische Zentralbank") in found
    assert ("xinhua", "xinhua") in found
    assert not {p for p in found if "Olaf Scholz" in p or "Deutschland" in p}


@pytest.mark.slow
def test_top_names_of_news_and_headlines_name_distinct_entities(
    shared_data: Path, tmp_path: Path
) -> None:
    headlines = write_jsonl(
        tmp_path / "corpus" / "headlines.jsonl",
        headline_records(shared_data / "corpus" / "headlines.jsonl.gz", 20_000),
    )
    config = Config(index=tmp_path / "index")
    with NewsSearch(tmp_path / "index", config) as api:
        api.index([shared_data / "corpus" / "gnad.jsonl", headlines])
        counts = api.entities(top=50)
        top = {facet: [name for name, _ in values] for facet, values in counts.items()}
        assert len(top["person"]) == len(top["org"]) == len(top["place"]) == 50
        assert same_entity_pairs(top) == []
        assert "Alexander Van" not in top["person"]
        merkel = ids(api, person=["Merkel"])
        assert merkel and merkel == ids(api, person=["Angela Merkel"])


def test_an_index_run_whose_names_table_cannot_be_written_still_succeeds(tmp_path: Path) -> None:
    corpus = write_jsonl(
        tmp_path / "corpus" / "news.jsonl", [{"id": i, "text": t} for i, t in ARTICLES]
    )
    index = tmp_path / "index"
    with NewsSearch(index, Config(index=index)) as api:
        api.index([corpus])
        table = index / "entities.json"  # the table cannot be written: a folder holds its place
        table.unlink()
        (table / "keep").mkdir(parents=True)
        more = write_jsonl(tmp_path / "more.jsonl", [{"id": "n1", "text": "Merkel in Wien."}])
        report = api.index([more])
        assert report.added == 1 and not report.entity_names
        assert any("newssearch retag" in note for note in report.notes)
        assert ids(api, person=["Angela Merkel"])  # search works, names as indexed
    runner = CliRunner()
    out = runner.invoke(cli, ["retag", "--index", str(index)])
    assert out.exit_code != 0 and "entities.json" in out.output and "Traceback" not in out.output
