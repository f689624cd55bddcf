"""German compound splitting against a noun lexicon (German Wiktionary via `german-nouns`).

``split("kooperationsabkommen")`` → ``[("kooperation", "kooperation"), ("abkommen", "abkommen")]``:
(surface, lemma) pairs covering the word, joined by linking elements (-s-, -es-, -n-, -en-,
-er-, -e-, -ns-). A word is split only when every piece is a known noun form, so names and
ordinary words stay whole. The fewest pieces win, then the least linking material (the lexicon
holds inflected forms, so "kurs|wechsel" beats "kur|s|wechsel"), then the split whose weakest
piece is most productive in the lexicon ("jahres|tages" over "jahre|stages"), then the longest
head. Short rarely-compounding pieces ("ass", "des") are not modifiers; adjective endings
(-isch, -ische) are never heads.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

LINKS = ("", "s", "es", "n", "en", "er", "e", "ns")
#: Lexicon nouns that, at the end of a word, are adjective endings, not heads (typ|isches).
NOT_HEADS = ("isch",)


@dataclass(frozen=True)
class Lexicon:
    """The shipped noun lexicon (see training/build_lexicon.py)."""

    words: dict[str, str]  # form -> lemma
    names: frozenset[str]  # forms of names: never split
    modifier_counts: dict[str, int]  # lemma -> nouns it starts
    head_counts: dict[str, int]  # lemma -> nouns it ends


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The lexicon, loaded once per process."""
    path = resources.files("newssearch").joinpath("data/lexicon_de.tsv.gz")
    with path.open("rb") as raw:
        text = gzip.decompress(raw.read()).decode("utf-8")
    sections = {}
    for part in text.split("\n## ")[1:]:  # "## words: ...", "## names: ...", "## counts: ..."
        head, _, body = part.partition("\n")
        sections[head.split(":")[0]] = body.splitlines()
    words: dict[str, str] = {}
    for line in sections["words"]:
        form, _, lemma = line.partition("\t")
        words[form] = lemma or form
    names = set(sections["names"])
    modifiers: dict[str, int] = {}
    heads: dict[str, int] = {}
    for line in sections["counts"]:
        lemma, first, last = line.split("\t")
        modifiers[lemma], heads[lemma] = int(first), int(last)
    return Lexicon(words, frozenset(names), modifiers, heads)


class Splitter:
    """Splits lowercase German compounds into (surface, lemma) pieces; [] if not a compound."""

    #: Pieces this short must start at least this many lexicon nouns to count as a modifier.
    SHORT_PIECE, MIN_MODIFIER_COUNT = 4, 10

    def __init__(
        self, lex: Lexicon | None = None, min_word: int = 7, min_part: int = 3, min_head: int = 4
    ) -> None:
        self.lex = lex or lexicon()
        self.min_word, self.min_part, self.min_head = min_word, min_part, min_head

    def split(self, word: str) -> list[tuple[str, str]]:
        """The best split of ``word`` into two or more known pieces, or []."""
        names = self.lex.names
        if len(word) < self.min_word or not word.isalpha() or word in names or word[:-1] in names:
            return []
        words, n = self.lex.words, len(word)
        heads = range(self.min_part, n - self.min_head + 1)
        if not any(word[i:] in words for i in heads) or not any(word[:i] in words for i in heads):
            return []  # no known head or first part: most words end here, before the full search
        best = self._best(word, 0, {})
        return list(best[-1]) if best and len(best[-1]) > 1 else []

    def _best(self, word: str, start: int, memo: dict) -> tuple | None:
        # (pieces, link letters, -weakest piece's productivity, -head length, pieces); smaller is
        # better
        if start in memo:
            return memo[start]
        n, lex, best = len(word), self.lex, None
        for end in range(start + self.min_part, n + 1):
            piece = word[start:end]
            lemma = lex.words.get(piece)
            if lemma is None:
                continue
            if end == n:
                if start > 0 and len(piece) >= self.min_head and not piece.startswith(NOT_HEADS):
                    cand = (1, 0, -lex.head_counts.get(lemma, 0), -len(piece), ((piece, lemma),))
                    best = cand if best is None or cand[:4] < best[:4] else best
                continue
            strength = lex.modifier_counts.get(lemma, 0)
            if len(piece) <= self.SHORT_PIECE and strength < self.MIN_MODIFIER_COUNT:
                continue
            for link in LINKS:
                nxt = end + len(link)
                if nxt < n and word.startswith(link, end):
                    rest = self._best(word, nxt, memo)
                    if rest is not None:
                        cand = (
                            rest[0] + 1,
                            rest[1] + len(link),
                            max(rest[2], -strength),
                            rest[3],
                            ((piece, lemma),) + rest[4],
                        )
                        if best is None or cand[:4] < best[:4]:
                            best = cand
        memo[start] = best
        return best
