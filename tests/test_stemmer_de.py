"""newssearch.text.stemmer_de stems exactly as NLTK's German Snowball stemmer, without importing nltk."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys

from newssearch.text.stemmer_de import stem

from .conftest import REPO

WORDS = [
    "Häuser",
    "Bundesregierung",
    "Flüchtlinge",
    "Verhandlungen",
    "heiratet",
    "Zusammenarbeit",
    "Kenntnisse",
    "Gemeindebund",
    "ökonomisch",
    "Möglichkeiten",
    "Ereignisse",
    "Bäume",
    "Straße",
    "STRASSE",
    "aufeinander",
    "Bayern",
    "Kreuzung",
    "lächerlich",
    "Heiterkeit",
    "Freundlichkeit",
    "Bedürftigkeit",
    "Erste",
]


def test_same_stems_as_nltk_on_words_and_random_strings():
    from nltk.stem.snowball import GermanStemmer

    reference = GermanStemmer().stem
    rng = random.Random(3)
    letters = "aeiouyäöüßbcdfghklmnprstUYz"
    words = WORDS + [
        "".join(rng.choice(letters) for _ in range(rng.randint(1, 14))) for _ in range(20_000)
    ]
    assert [stem(w) for w in words] == [reference(w) for w in words]


def test_same_stems_as_nltk_on_the_shared_corpus(shared_data):
    from nltk.stem.snowball import GermanStemmer

    reference = GermanStemmer().stem
    words = set()
    with open(shared_data / "corpus" / "gnad.jsonl", encoding="utf-8") as fh:
        for line in fh:
            words.update(re.findall(r"\w+", json.loads(line)["text"]))
    different = [w for w in sorted(words) if stem(w) != reference(w)]
    assert not different, different[:10]


def test_analysis_does_not_import_nltk():
    code = (
        "import sys\n"
        "from newssearch.text.analysis import analyze\n"
        "from newssearch.config import AnalysisConfig\n"
        "print(analyze('Die Häuser der Bundesregierung', AnalysisConfig()))\n"
        "print('nltk' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "False"
