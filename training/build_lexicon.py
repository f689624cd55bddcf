"""Build the decompounding lexicon shipped in src/newssearch/data/lexicon_de.tsv.gz.

Source: the `german-nouns` package (≈100k nouns with all case forms, compiled from the German
Wiktionary, CC BY-SA 4.0). Rebuild with::

    pip install german-nouns==1.2.5
    python training/build_lexicon.py

Three sections: ``## words`` (``form[<TAB>lemma]``, lowercase: every singular/plural case form
of a common noun or place name of 3+ letters; the lemma is given when it differs), ``## names``
(forms of places and other proper names: never split themselves — Russlands is not russ + land,
Salzburg not salz + burg — but they may be parts, as in Europaparlament), and ``## counts``
(``lemma<TAB>M<TAB>H``): each lemma's productivity inside the lexicon itself, i.e. in how many
other nouns it is the first part (M) or the last part (H) of a two-part split. The splitter
uses these counts the way frequency-based splitters (Koehn & Knight 2003) use corpus counts:
rarely compounding short pieces ("ass", "des") are not taken as parts, and "jahres|tages" beats
"jahre|stages" because "tag" heads many nouns and "stag" almost none.

Person names, abbreviations, symbols and multi-word entries are left out.
"""

from __future__ import annotations

import csv
import gzip
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "newssearch" / "data" / "lexicon_de.tsv.gz"
SKIP_POS = {
    "Vorname",
    "Nachname",
    "Abkürzung",
    "Buchstabe",
    "Symbol",
    "Affix",
    "Suffix",
    "Wortverbindung",
    "Gebundenes Lexem",
    "Redewendung",
    "Grußformel",
    "Geflügeltes Wort",
    "Straßenname",
    "Zahlklassifikator",
    "Partikel",
    "Deklinierte Form",
}
FORM_PREFIXES = ("nominativ", "genitiv", "dativ", "akkusativ")


LINKS = ("", "s", "es", "n", "en", "er", "e", "ns")


def productivity(lexicon: dict[str, str]) -> tuple[Counter, Counter]:
    """How often each lemma is the first / last part of a two-part split of another lemma."""
    modifiers: Counter = Counter()
    heads: Counter = Counter()
    for lemma in set(lexicon.values()):
        for i in range(3, len(lemma) - 2):
            first = lexicon.get(lemma[:i])
            if first is None:
                continue
            for link in LINKS:
                rest = lemma[i + len(link) :]
                if lemma.startswith(link, i) and len(rest) >= 3 and rest in lexicon:
                    modifiers[first] += 1
                    heads[lexicon[rest]] += 1
                    break
    return modifiers, heads


def main() -> int:
    source = resources.files("german_nouns").joinpath("nouns.csv")
    lexicon: dict[str, str] = {}
    names: set[str] = set()
    with source.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pos = set(row["pos"].split(","))
            lemma = row["lemma"].strip()
            if pos & SKIP_POS or not lemma.isalpha() or len(lemma) < 3:
                continue
            forms = {lemma} | {
                v.strip() for k, v in row.items() if k and k.startswith(FORM_PREFIXES) and v
            }
            for form in forms:
                if form.isalpha() and len(form) >= 3:
                    if pos & {"Toponym", "Eigenname"}:
                        names.add(form.lower())
                    # a form that is itself a lemma maps to itself (abkommen, not abkomme);
                    # otherwise the first lemma listed wins
                    key, value = form.lower(), lemma.lower()
                    if key not in lexicon or key == value:
                        lexicon[key] = value
    modifiers, heads = productivity(lexicon)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(
            "# German noun forms -> lemma, from german-nouns 1.2.5 (Wiktionary DE, CC BY-SA 4.0)\n"
        )
        out.write("## words: form[<TAB>lemma, when it differs]\n")
        for form in sorted(lexicon):
            lemma = lexicon[form]
            out.write(f"{form}\t{lemma}\n" if lemma != form else f"{form}\n")
        out.write("## names: forms never split\n")
        out.write("".join(f"{form}\n" for form in sorted(names)))
        out.write("## counts: lemma<TAB>as first part<TAB>as last part\n")
        for lemma in sorted(set(modifiers) | set(heads)):
            out.write(f"{lemma}\t{modifiers[lemma]}\t{heads[lemma]}\n")
    print(
        f"{len(lexicon):,} forms of {len(set(lexicon.values())):,} lemmas -> {OUT} ({OUT.stat().st_size:,} bytes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
