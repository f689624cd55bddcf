"""German text analysis: one analyzer, built from config, for documents and queries alike.

The chain (Whoosh filters composed with ``|``)::

    GermanTokenizer | LowercaseFilter | StopFilter(German list) | DecompoundFilter | HyphenFilter
    | GermanStemFilter

(The stop filter renumbers positions one per token, so it runs before HyphenFilter adds a
second token at a position.)

Indexing runs the same chain as one loop over the words (:func:`index_positions`; same terms
and positions, a fraction of the time); queries go through the filters.

Whoosh pickles the analyzer into the index schema, so every filter here is a module-level
class with plain attributes; caches are dropped when pickled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from whoosh.analysis import (
    CompositeAnalyzer,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StopFilter,
    Token,
)

from .. import caches
from ..config import STEMMERS, AnalysisConfig

# Numbers keep their inner separators (2:1, 20.45, 1.000); words keep inner hyphens
# (Ukraine-Konflikt), which HyphenFilter then splits. A trailing hyphen ("Staats- und
# Parteichef") is not part of the token.
TOKEN_PATTERN = r"\d+(?:[.,:/]\d+)*|\w+(?:[-‐‑]\w+)*"
# With decompounding, a trailing hyphen before a conjunction marks an elided head
# ("Staats- und Parteichef"), which DecompoundFilter restores.
ELLIPSIS_PATTERN = TOKEN_PATTERN + r"(?:[-‐‑](?=\s*(?:,|und\b|oder\b|bzw\b|sowie\b)))?"
MAX_TOKEN = 64
_HYPHENS = re.compile(r"[-‐‑]")
_EXPAND = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_FOLD_DIGRAPHS = re.compile(r"ae|oe|(?<!q)ue")
_FOLD_TO = {"ae": "a", "oe": "o", "ue": "u"}


@lru_cache(maxsize=1)
def german_stopwords() -> frozenset[str]:
    """The explicit German stop list shipped with the package, in both umlaut spellings."""
    text = resources.files("newssearch").joinpath("data/stopwords_de.txt").read_text("utf-8")
    words = {w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")}
    return frozenset(words | {w.translate(_EXPAND) for w in words})


def fold_umlauts(word: str) -> str:
    """Spell umlauts and ß out (ä → ae, ß → ss) so both spellings of a word meet."""
    return word.translate(_EXPAND)


def fold_digraphs(stem: str) -> str:
    """Reduce spelled-out umlauts to the bare vowel (ae → a), as Snowball does with ä."""
    return _FOLD_DIGRAPHS.sub(lambda m: _FOLD_TO[m.group(0)], stem)


def _stem_function(name: str) -> Callable[[str], str]:
    if name == "snowball":
        # NLTK's algorithm without importing nltk (seconds of start-up for every query)
        from .stemmer_de import stem

        return stem
    if name == "cistem":
        from nltk.stem.cistem import Cistem

        return Cistem().stem
    if name == "none":
        return str
    raise ValueError(f"unknown stemmer {name!r}")


class GermanTokenizer(RegexTokenizer):
    """Words (with inner hyphens) and numbers (with inner separators)."""

    def __init__(self, ellipsis: bool = False) -> None:
        super().__init__(expression=ELLIPSIS_PATTERN if ellipsis else TOKEN_PATTERN, gaps=False)


class _SettingsFilter(Filter):
    """A filter whose pickled state is only its settings (``SETTINGS``); caches are rebuilt."""

    SETTINGS: tuple[str, ...] = ()

    def _reset(self) -> None:
        """(Re)create caches and helpers from the settings."""

    def __getstate__(self) -> dict:
        return {name: getattr(self, name) for name in self.SETTINGS}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__getstate__() == other.__getstate__()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__getstate__().items())
        return f"{type(self).__name__}({args})"


class DecompoundFilter(_SettingsFilter):
    """Adds the parts of German compounds (Kooperationsabkommen → kooperation, abkommen).

    Documents keep the whole word and get the parts' lemmas at the same position. Queries get
    only the parts, which the query parser joins as alternatives (``search.GermanQueryParser``),
    so "Kooperationsabkommen" finds the compound and "Abkommen zur Kooperation" alike, the
    compound first. An elided head is restored: "Staats- und
    Parteichef" also yields "staatschef". Parts that are stop words are dropped. Phrases
    (mode "phrase", see ``search.GermanPhrasePlugin``) keep compounds whole.
    """

    SETTINGS = ("min_part",)
    _CACHE_LIMIT = caches.WORDS

    def __init__(self, min_part: int = 3) -> None:
        self.min_part = min_part
        self._reset()

    def _reset(self) -> None:
        self._splitter: Any = None  # made on first use (loading the lexicon takes a while)
        self._cache: dict[str, tuple[tuple[str, str], ...]] = {}
        self._indexed: dict[str, tuple[tuple[str, ...], str | None]] = {}

    def parts(self, word: str) -> tuple[tuple[str, str], ...]:
        """(surface, lemma) pieces of a lowercase word; () when it is not a compound."""
        found = self._cache.get(word)
        if found is None:
            if self._splitter is None:
                from .decompound import Splitter

                self._splitter = Splitter(min_part=self.min_part)
            found = tuple(self._splitter.split(word))
            if len(self._cache) < self._CACHE_LIMIT:
                self._cache[word] = found
        return found

    def expand(self, text: str, mode: str, modifier: str | None) -> tuple[list[str], str | None]:
        """The texts one token becomes, in order, and the elided modifier waiting for its head."""
        if text[-1:] in "-‐‑":
            modifier = text.rstrip("-‐‑")
            return [modifier], modifier
        stop = german_stopwords()
        if _HYPHENS.search(text):
            out = [text]
            if mode not in ("query", "phrase"):
                # the parts of a hyphenated word's own compounds: "Fußball-Fans" also
                # indexes fuß + ball, so the query "Fußball" (fuß AND ball) finds it
                lemmas = [
                    lemma for part in _HYPHENS.split(text) if part for _, lemma in self.parts(part)
                ]
                out.extend(lemma for lemma in dict.fromkeys(lemmas) if lemma not in stop)
            return out, None
        pieces = self.parts(text) if mode != "phrase" else ()
        out = [] if pieces and mode == "query" else [text]
        if modifier and pieces:
            restored = modifier + pieces[-1][0]
            out.append(restored)
            pieces = pieces + tuple(p for p in self.parts(restored) if p not in pieces)
        out.extend(lemma for _, lemma in pieces if lemma not in stop)
        return out, None

    def expand_indexed(self, text: str) -> tuple[Sequence[str], str | None]:
        """:meth:`expand` of a document word with no modifier waiting (the common case), cached."""
        found = self._indexed.get(text)
        if found is None:
            texts, modifier = self.expand(text, "index", None)
            found = (tuple(texts), modifier)
            if len(self._indexed) < self._CACHE_LIMIT:
                self._indexed[text] = found
        return found

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        modifier = None  # "staats" from "Staats- und ...", waiting for its head
        for t in tokens:
            texts, modifier = self.expand(t.text, t.mode, modifier)
            for text in texts:
                t.text = text
                yield t


class HyphenFilter(Filter):
    """Splits hyphenated words into their parts; documents also keep the joined word.

    "Ukraine-Konflikt" is indexed as ``ukraine`` and ``konflikt`` (consecutive positions, so
    phrase queries see them) plus ``ukrainekonflikt`` at the first part's position, so the
    queries "Ukraine Konflikt", "Ukraine-Konflikt" and "Ukrainekonflikt" all find it. At query
    time only the parts are produced (phrases included: they sit at consecutive positions).
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        shift = 0
        for t in tokens:
            if t.positions:
                t.pos += shift
            if "-" not in t.text and "‐" not in t.text and "‑" not in t.text:
                yield t
                continue
            parts = [p for p in _HYPHENS.split(t.text) if p]
            if len(parts) < 2:
                t.text = parts[0] if parts else t.text
                yield t
                continue
            whole, base_pos = t.text, t.pos if t.positions else 0
            start = t.startchar if t.chars else 0
            if t.mode not in ("query", "phrase"):
                t.text = "".join(parts)
                yield t
            offset = 0
            for i, part in enumerate(parts):
                at = whole.index(part, offset)
                offset = at + len(part)
                t.text = part
                if t.positions:
                    t.pos = base_pos + i
                if t.chars:
                    t.startchar, t.endchar = start + at, start + offset
                yield t
            shift += len(parts) - 1


class GermanStemFilter(_SettingsFilter):
    """Umlaut/ß normalisation and stemming (NLTK Snowball German or CISTEM), with a cache.

    With ``umlauts="fold"``, "München", "Muenchen" and "Munchen"-like spellings meet:
    ä/ö/ü/ß are spelled out before stemming and the spelled-out vowels folded after it.
    """

    is_morph = True
    SETTINGS = ("stemmer", "umlauts")
    _CACHE_LIMIT = caches.WORDS

    def __init__(self, stemmer: str = "snowball", umlauts: str = "fold") -> None:
        self.stemmer = stemmer
        self.umlauts = umlauts
        self._reset()

    def _reset(self) -> None:
        # The stemmer is made on the first word, not here: it imports NLTK (slow to import),
        # which a process that only opens the index or writes terms made elsewhere never needs.
        if self.stemmer not in STEMMERS:
            raise ValueError(f"unknown stemmer {self.stemmer!r}")
        self._stem: Callable[[str], str] | None = None
        self._cache: dict[str, str] = {}
        self._plain: dict[tuple, dict[str, tuple[str, ...]]] = {}  # for _index_terms

    def normalize(self, word: str) -> str:
        """The index term for one lowercased word."""
        stem = self._stem
        if stem is None:
            stem = self._stem = _stem_function(self.stemmer)
        if self.umlauts == "fold":
            return fold_digraphs(stem(fold_umlauts(word)))
        return stem(word)

    def term(self, word: str) -> str:
        """:meth:`normalize`, cached."""
        term = self._cache.get(word)
        if term is None:
            term = self.normalize(word)
            if len(self._cache) < self._CACHE_LIMIT:
                self._cache[word] = term
        return term

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        term = self.term
        for t in tokens:
            t.text = term(t.text)
            yield t


def index_positions(analyzer: CompositeAnalyzer, text: str) -> dict[str, list[int]] | None:
    """Each term's positions as ``analyzer(text, positions=True, mode="index")`` yields them.

    The chain :func:`build_analyzer` makes, run as one loop over the words instead of six
    nested generators passing one Token along (a third of the enrichment workers' time). The
    Token's quirks are kept: positions are shared and changed in place, so a compound's parts
    after a hyphenated word sit where Whoosh's chain puts them. None for any other analyzer.
    """
    chain = _fused_chain(analyzer)
    if chain is None:
        return None
    positions: dict[str, list[int]] = {}
    for term, at in _index_terms(chain, text):
        positions.setdefault(term, []).append(at)
    return positions


def word_terms(analyzer: CompositeAnalyzer, word: str) -> tuple[str, ...]:
    """The terms ``analyzer(word, mode="index")`` yields, in order (the fused loop when it can)."""
    chain = _fused_chain(analyzer)
    if chain is None:
        return tuple(t.text for t in analyzer(word, mode="index"))
    if word.isalnum():
        # a word the fused loop has met in a text alone is one token read alone too: its terms
        # are kept
        terms = _plain_words(chain).get(word)
        if terms is not None:
            return terms
    return tuple(term for term, _ in _index_terms(chain, word))


class _Chain(NamedTuple):
    words: Callable[[str], Iterator[re.Match]]
    stoplist: frozenset
    minsize: int
    maxsize: int | None
    decompound: DecompoundFilter | None
    hyphens: bool
    stemmer: GermanStemFilter


def _fused_chain(analyzer: CompositeAnalyzer) -> _Chain | None:
    """The settings of a :func:`build_analyzer` chain, for the fused loop; None for others."""
    items: Any = getattr(analyzer, "items", ())
    if (
        len(items) < 4
        or type(items[0]) is not GermanTokenizer
        or type(items[1]) is not LowercaseFilter
    ):
        return None
    stops, decompound, hyphens, stemmer = items[2], None, False, items[-1]
    if type(stops) is not StopFilter or not stops.renumber or type(stemmer) is not GermanStemFilter:
        return None
    for item in items[3:-1]:
        if type(item) is DecompoundFilter and decompound is None and not hyphens:
            decompound = item
        elif type(item) is HyphenFilter and not hyphens:
            hyphens = True
        else:
            return None
    return _Chain(
        items[0].expression.finditer,
        stops.stops,
        stops.min,
        stops.max,
        decompound,
        hyphens,
        stemmer,
    )


def _index_terms(chain: _Chain, text: str) -> Iterator[tuple[str, int]]:
    """(term, position) in the order the chain yields them in index mode."""
    stoplist, minsize, maxsize, decompound, hyphens = chain[1:6]
    stem_cache, stem = (
        chain.stemmer._cache,
        chain.stemmer.term,
    )  # a cache hit without a call: most words
    plain = _plain_words(chain)
    kept = None  # StopFilter's renumbering: the first kept word keeps its position, then +1 each
    shift = 0  # HyphenFilter: extra positions taken by the parts of hyphenated words so far
    modifier = None
    for index, match in enumerate(chain.words(text)):
        word = match.group(0).lower()
        if len(word) < minsize or (maxsize is not None and len(word) > maxsize) or word in stoplist:
            continue
        pos = kept = index if kept is None else kept + 1
        if modifier is None:
            terms = plain.get(word)
            if terms is not None:
                # each term moves on by the shift, as the shared Token's position does
                if shift:
                    for k, term in enumerate(terms, 1):
                        yield term, pos + k * shift
                else:
                    for term in terms:
                        yield term, pos
                continue
        texts: Sequence[str]
        waiting: str | None = modifier
        if decompound is None:
            texts = (word,)
        elif modifier is None:
            texts, modifier = decompound.expand_indexed(word)
        else:
            texts, modifier = decompound.expand(word, "index", modifier)
        made: list[str] | None = (
            [] if waiting is None and modifier is None and len(plain) < _PLAIN_WORDS else None
        )
        for piece in texts:
            if hyphens:
                pos += shift
            spots: Sequence[tuple[str, int]] = ((piece, pos),)
            if hyphens and ("-" in piece or "‐" in piece or "‑" in piece):
                made = None
                parts = [p for p in _HYPHENS.split(piece) if p]
                if len(parts) < 2:
                    spots = ((parts[0] if parts else piece, pos),)
                else:
                    # the joined word at the first part's position, then the parts one by one
                    base, pos = pos, pos + len(parts) - 1
                    shift += len(parts) - 1
                    spots = (
                        ("".join(parts), base),
                        *((part, base + i) for i, part in enumerate(parts)),
                    )
            for one, at in spots:
                cached = stem_cache.get(one)
                term = stem(one) if cached is None else cached
                if made is not None:
                    made.append(term)
                yield term, at
        if made is not None:
            plain[word] = tuple(made)


#: Plain words whose terms a chain keeps (see _index_terms)
_PLAIN_WORDS = caches.WORDS


def _plain_words(chain: _Chain) -> dict[str, tuple[str, ...]]:
    """The terms of the plain words (no modifier waiting, none made, no hyphen) this chain has met:
    most words, made once; kept by its stemmer, one table per decompounding and hyphen setting."""
    return chain.stemmer._plain.setdefault((repr(chain.decompound), chain.hyphens), {})


def build_analyzer(config: AnalysisConfig | None = None) -> CompositeAnalyzer:
    """The analyzer for title and body text, as the config says."""
    config = config or AnalysisConfig()
    # Tokens longer than MAX_TOKEN (base64, minified junk) are dropped, stop list or not.
    stoplist = german_stopwords() if config.stopwords == "german" else frozenset()
    chain = GermanTokenizer(ellipsis=config.decompound) | LowercaseFilter()
    chain = chain | StopFilter(stoplist=stoplist, minsize=1, maxsize=MAX_TOKEN)
    if config.decompound:
        chain = chain | DecompoundFilter()
    if config.hyphens:
        chain = chain | HyphenFilter()
    return chain | GermanStemFilter(stemmer=config.stemmer, umlauts=config.umlauts)


@lru_cache(maxsize=caches.ANALYZERS)
def shared_analyzer(config: AnalysisConfig) -> CompositeAnalyzer:
    """One analyzer per settings in a process: the schema and the classifier share its caches."""
    return build_analyzer(config)


def build_keyword_analyzer() -> CompositeAnalyzer:
    """Analyzer for short metadata (source, author, section): words, lowercase, umlauts folded."""
    return GermanTokenizer() | LowercaseFilter() | GermanStemFilter(stemmer="none", umlauts="fold")


def analyze(text: str, config: AnalysisConfig | None = None, mode: str = "index") -> list[str]:
    """The terms ``text`` yields (for tests, debugging and the ``analyze`` command)."""
    return [t.text for t in build_analyzer(config)(text, mode=mode)]
