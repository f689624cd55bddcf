"""German compound splitting against a noun lexicon (German Wiktionary via `german-nouns`).

``split("kooperationsabkommen")`` → ``[("kooperation", "kooperation"), ("abkommen", "abkommen")]``:
(surface, lemma) pairs covering the word, joined by linking elements (-s-, -es-, -n-, -en-,
-er-, -e-, -ns-). A word is split only when every piece is a known noun form, so names and
ordinary words stay whole. The fewest pieces win, then the most linking material (Jahr-es-tages
over Jahr-e-stages, Bund-es-länder over Bunde-s-länder), then the longest head.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

LINKS = ("", "s", "es", "n", "en", "er", "e", "ns")


@lru_cache(maxsize=1)
def lexicon() -> tuple[dict[str, str], frozenset[str]]:
    """(form → lemma for German nouns, forms of names that are never split), loaded once."""
    path = resources.files("newssearch").joinpath("data/lexicon_de.tsv.gz")
    words: dict[str, str] = {}
    names: set[str] = set()
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            form, lemma, *flag = line.rstrip("\n").split("\t")
            words[form] = lemma
            if flag:
                names.add(form)
    return words, frozenset(names)


class Splitter:
    """Splits lowercase German compounds into (surface, lemma) pieces; [] if not a compound."""

    def __init__(
        self,
        words: dict[str, str] | None = None,
        names: frozenset[str] = frozenset(),
        min_word: int = 7,
        min_part: int = 3,
        min_head: int = 4,
    ) -> None:
        self.words, self.names = lexicon() if words is None else (words, names)
        self.min_word, self.min_part, self.min_head = min_word, min_part, min_head

    def split(self, word: str) -> list[tuple[str, str]]:
        """The best split of ``word`` into two or more known pieces, or []."""
        if len(word) < self.min_word or not word.isalpha() or word in self.names or word[:-1] in self.names:
            return []
        best = self._best(word, 0, {})
        return list(best[3]) if best and len(best[3]) > 1 else []

    def _best(self, word: str, start: int, memo: dict) -> tuple | None:
        # Result: (pieces, -link letters, -head length, pieces tuple); smaller first three = better.
        if start in memo:
            return memo[start]
        n, words, best = len(word), self.words, None
        for end in range(start + self.min_part, n + 1):
            piece = word[start:end]
            lemma = words.get(piece)
            if lemma is None:
                continue
            if end == n:
                if start > 0 and len(piece) >= self.min_head:
                    cand = (1, 0, -len(piece), ((piece, lemma),))
                    best = cand if best is None or cand[:3] < best[:3] else best
                continue
            for link in LINKS:
                nxt = end + len(link)
                if nxt < n and word.startswith(link, end):
                    rest = self._best(word, nxt, memo)
                    if rest is not None:
                        cand = (rest[0] + 1, rest[1] - len(link), rest[2], ((piece, lemma),) + rest[3])
                        if best is None or cand[:3] < best[:3]:
                            best = cand
        memo[start] = best
        return best
