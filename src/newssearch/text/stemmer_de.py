"""The German Snowball stemmer, as NLTK 3.10's ``nltk.stem.snowball.GermanStemmer`` has it.

Copied (algorithm unchanged, stop-word option dropped) so that stemming does not import the
``nltk`` package: its ``__init__`` imports most of NLTK and, where they are installed, SciPy and
scikit-learn, which made every ``newssearch query`` wait seconds before it could start.
tests/test_stemmer_de.py checks it against NLTK's stemmer word for word.

Original: Natural Language Toolkit: Snowball Stemmer, Copyright (C) 2001-2026 NLTK Project,
author Peter Michael Stahl; Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0).
Algorithm: https://snowballstem.org/algorithms/german/stemmer.html
"""

from __future__ import annotations

_VOWELS = "aeiouyäöü"
_S_ENDING = "bdfghklmnrt"
_ST_ENDING = "bdfghklmnt"
_STEP1 = ("ern", "em", "er", "en", "es", "e", "s")
_STEP2 = ("est", "en", "er", "st")
_STEP3 = ("isch", "lich", "heit", "keit", "end", "ung", "ig", "ik")


def _regions(word: str) -> tuple[str, str]:
    """Snowball's R1 and R2: what follows the first non-vowel after a vowel (twice)."""
    r1 = r2 = ""
    for i in range(1, len(word)):
        if word[i] not in _VOWELS and word[i - 1] in _VOWELS:
            r1 = word[i + 1 :]
            break
    for i in range(1, len(r1)):
        if r1[i] not in _VOWELS and r1[i - 1] in _VOWELS:
            r2 = r1[i + 1 :]
            break
    return r1, r2


def stem(word: str) -> str:
    """The Snowball stem of a German word (lower-cased, umlauts folded)."""
    word = word.lower().replace("ß", "ss")
    chars = list(word)
    for i in range(1, len(chars) - 1):  # u and y between vowels are consonants
        if chars[i - 1] in _VOWELS and chars[i + 1] in _VOWELS:
            if chars[i] == "u":
                chars[i] = "U"
            elif chars[i] == "y":
                chars[i] = "Y"
    word = "".join(chars)
    r1, r2 = _regions(word)
    for i in range(1, len(word)):  # the region before R1 holds at least 3 letters
        if word[i] not in _VOWELS and word[i - 1] in _VOWELS:
            if 3 > len(word[: i + 1]) > 0:
                r1 = word[3:]
            elif len(word[: i + 1]) == 0:
                return word
            break

    for suffix in _STEP1:
        if r1.endswith(suffix):
            if suffix in ("en", "es", "e") and word[-len(suffix) - 4 : -len(suffix)] == "niss":
                word = word[: -len(suffix) - 1]
                r1 = r1[: -len(suffix) - 1]
                r2 = r2[: -len(suffix) - 1]
            elif suffix == "s":
                if word[-2] in _S_ENDING:
                    word, r1, r2 = word[:-1], r1[:-1], r2[:-1]
            else:
                word = word[: -len(suffix)]
                r1 = r1[: -len(suffix)]
                r2 = r2[: -len(suffix)]
            break

    for suffix in _STEP2:
        if r1.endswith(suffix):
            if suffix == "st":
                if word[-3] in _ST_ENDING and len(word[:-3]) >= 3:
                    word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
            else:
                word = word[: -len(suffix)]
                r1 = r1[: -len(suffix)]
                r2 = r2[: -len(suffix)]
            break

    for suffix in _STEP3:
        if r2.endswith(suffix):
            n = len(suffix)
            if suffix in ("end", "ung"):
                if "ig" in r2[-n - 2 : -n] and "e" not in r2[-n - 3 : -n - 2]:
                    word = word[: -n - 2]
                else:
                    word = word[:-n]
            elif suffix in ("ig", "ik", "isch") and "e" not in r2[-n - 1 : -n]:
                word = word[:-n]
            elif suffix in ("lich", "heit"):
                if "er" in r1[-n - 2 : -n] or "en" in r1[-n - 2 : -n]:
                    word = word[: -n - 2]
                else:
                    word = word[:-n]
            elif suffix == "keit":
                if "lich" in r2[-n - 4 : -n]:
                    word = word[: -n - 4]
                elif "ig" in r2[-n - 2 : -n]:
                    word = word[: -n - 2]
                else:
                    word = word[:-n]
            break

    return (
        word.replace("ä", "a")
        .replace("ö", "o")
        .replace("ü", "u")
        .replace("U", "u")
        .replace("Y", "y")
    )
