"""Name rules applied after the tagger has found its spans, and the shipped list of names.

The tagger finds where a name is; these rules decide what the name is: name particles stay
inside a name ("Alexander Van der Bellen", "Ursula von der Leyen"), titles and role nouns stay
out ("Amtskollege Barack Obama" -> "Barack Obama"), sports-result country codes (GER, AUT) are
no names, and names readers know under one kind get it (news agencies, parties, governments
named by their seat are organisations). ``data/entity_names_de.tsv`` lists those kinds, the
aliases and abbreviations of well-known names and the names never shown; the archive-wide pass
(:mod:`newssearch.archive.resolve`) reads the same list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

NAMES_RESOURCE = "entity_names_de.tsv"
KINDS = ("PER", "ORG", "LOC")

#: words that join the parts of a name (lower case; "al-Assad" is one token already)
PARTICLES = frozenset(
    """
    van von der den de del della di da du dos das la le zu vom ten ter bin ibn al el
    abu op af y und
    """.split()  # noqa: SIM905
)

#: particles that may start a run inside a name ("und" only in "von und zu")
_RUN_START = PARTICLES - {"und", "der", "den", "la", "le", "das", "dos", "y"}

#: particles of Arabic names ("Osama bin Laden"): after a name they are never German words
_ARABIC = frozenset({"bin", "ibn", "abu"})

#: titles and forms of address: never part of a name
TITLES = frozenset(
    """
    dr dr. prof prof. herr frau sir lord mr mr. mrs mrs. ms ms. mister madame
    monsieur mag mag. ing ing. dipl dipl.-ing. dkfm
    """.split()  # noqa: SIM905
)

#: role nouns (lower case) a name may be preceded by: "US-Präsident Trump", "Amtskollege X"
#: (German ones: English words start names of their own, "Premier League", "Star Alliance")
_ROLE_ENDINGS = tuple(
    """
    präsident präsidentin kanzler kanzlerin minister ministerin kollege kollegin chef
    chefin sprecher sprecherin vorsitzende vorsitzender kandidat kandidatin trainer
    trainerin direktor direktorin senator senatorin gouverneur gouverneurin botschafter
    botschafterin bürgermeister bürgermeisterin abgeordnete abgeordneter hauptmann
    hauptfrau sekretär sekretärin kommissar kommissarin anwalt anwältin milliardär
    unternehmer unternehmerin ökonom ökonomin politiker politikerin aktivist aktivistin
    gründer gründerin berater beraterin regisseur regisseurin schauspieler
    schauspielerin sänger sängerin moderator moderatorin autor autorin rapper stürmer
    torhüter torwart kapitän diktator machthaber herrscher führer führerin oberhaupt
    richter richterin staatsanwalt staatsanwältin
    """.split()  # noqa: SIM905
)

_ROLE = re.compile(r"^(?:ex-|vize|ober|bundes|\w+-)?\w*(?:" + "|".join(_ROLE_ENDINGS) + r")$")
_WORDS = re.compile(r"\S+")


def is_role(word: str) -> bool:
    """Is ``word`` a title or a role noun (Dr., Amtskollege, US-Präsident, Kanzlerin)?"""
    lower = word.lower()
    return lower in TITLES or bool(_ROLE.match(lower))


def strip_roles(name: str) -> str:
    """``name`` without leading titles and role nouns (a name of one word is left as it is)."""
    words = name.split(" ")
    while len(words) > 1 and is_role(words[0]):
        words.pop(0)
    return " ".join(words)


@dataclass(frozen=True)
class NameList:
    """Kinds, aliases and hidden names by name key (see :func:`newssearch.enrich.entities.key`)."""

    #: name key -> the kind readers expect (PER, ORG, LOC)
    kinds: Mapping[str, str] = field(default_factory=dict)
    #: alias key -> (kind, canonical name); canonical names map to themselves
    aliases: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: name keys never shown
    hidden: frozenset[str] = frozenset()

    def merged(self, other: NameList) -> NameList:
        """This list with ``other``'s entries added (``other`` wins where both say something)."""
        return NameList(
            {**self.kinds, **other.kinds},
            {**self.aliases, **other.aliases},
            self.hidden | other.hidden,
        )


def parse_names(text: str, source: str, key: Callable[[str], str]) -> NameList:
    """Read a names table (KIND, canonical name, |-separated aliases; HIDE lines) from ``text``."""
    kinds: dict[str, str] = {}
    aliases: dict[str, tuple[str, str]] = {}
    hidden: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        kind, canonical = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
        others = [a.strip() for a in (parts[2] if len(parts) > 2 else "").split("|") if a.strip()]
        if kind == "HIDE":
            hidden.update(key(a) for a in [canonical, *others] if a)
            continue
        if kind not in KINDS or not canonical:
            raise ValueError(f"{source}:{number}: expected KIND<tab>name<tab>aliases, got {line!r}")
        for name in (canonical, *others):
            kinds[key(name)] = kind
            aliases[key(name)] = (kind, canonical)
    return NameList(kinds, aliases, frozenset(hidden))


@lru_cache(maxsize=1)
def shipped_names() -> NameList:
    """The list shipped in ``data/entity_names_de.tsv``."""
    from ..text.names import name_key as key

    text = resources.files("newssearch").joinpath("data", NAMES_RESOURCE).read_text("utf-8")
    return parse_names(text, NAMES_RESOURCE, key)


# --- spans over tokens ---------------------------------------------------------------------


def adjust_spans(
    words: Sequence[str],
    spans: Iterable[tuple[int, int, str]],
    first_name: Callable[[str], bool],
    plain_word: Callable[[str], bool],
) -> set[tuple[int, int, str]]:
    """A sentence's (first, last + 1, label) spans with name particles and family names joined.

    "Alexander Van" + "der Bellen" and "Ursula" + "von der Leyen" become one person; a lone
    first name followed by a capitalised word (a family name the tagger missed: "Hubertus
    Heil") takes it. Titles and role nouns at a span's start are left out, and so is a "person"
    that is a sentence's first word and otherwise a plain word ("Bloß nicht ...").
    """
    ordered = sorted(spans)
    taken: dict[int, int] = {}  # token -> index of its span in ``ordered``
    for n, (a, b, _) in enumerate(ordered):
        for i in range(a, b):
            taken[i] = n
    out: list[list] = [[a, b, label] for a, b, label in ordered]
    dropped: set[int] = set()
    for n, span in enumerate(out):
        if n in dropped:
            continue
        a, b, label = span
        if label == "PER" and a == 0 and b == 1 and plain_word(words[0]):
            dropped.add(n)
            continue
        # leading titles and roles: "Dr. Angela Merkel", "Amtskollege Barack Obama"
        while label == "PER" and b - a > 1 and (is_role(words[a]) or words[a] == "."):
            a += 1
        if label == "PER":
            b, merged = _particle_end(words, a, b, taken, out, first_name)
            for m in merged:
                dropped.add(m)
            a = _particle_start(words, a, taken, n)
        span[0], span[1] = a, b
    return {(a, b, label) for n, (a, b, label) in enumerate(out) if n not in dropped}


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and any(c.islower() for c in word) and word.lower() not in PARTICLES


def _particle_end(
    words: Sequence[str],
    a: int,
    b: int,
    taken: Mapping[int, int],
    spans: list[list],
    first_name: Callable[[str], bool],
) -> tuple[int, list[int]]:
    """Where a person's name really ends (after "van der Bellen"), and the spans it swallows."""
    n = len(words)
    last = words[b - 1]
    j = b
    while j < n and j - b < 3 and words[j].lower() in PARTICLES and not words[j].isupper():
        j += 1
    run = [w.lower() for w in words[b:j]]
    if run and b > a:
        # "Alexander Van" der Bellen; "Otto von Bismarck", "Ursula von der Leyen": a particle run
        # after a first name or a capitalised particle; "Merkel von der CDU" stays apart (CDU
        # is a span of its own, and Merkel is no first name)
        trusted = (
            last.lower() in PARTICLES
            or (words[b][:1].isupper() and run[0] in _RUN_START)  # "Van", not "Der"
            or run[0] in _ARABIC
            or (first_name(words[b - 1]) and run[0] in _RUN_START)
        )
        if trusted and j < n and _capitalised(words[j]):
            other = taken.get(j)
            if other is None:
                return j + 1, []
            if spans[other][0] == j and spans[other][1] - j == 1:
                # "Karl-Theodor zu" + "Guttenberg" (tagged a place): one person
                return spans[other][1], [other]
        if last.lower() in PARTICLES:
            return b, []
    elif (
        b - a == 1
        and first_name(last)
        and j < n
        and _capitalised(words[j])
        and taken.get(j) is None
        and not first_name(words[j])
        and words[j].isalpha()
    ):
        # "Hubertus" Heil: a lone first name before a capitalised word the tagger left out
        return j + 1, []
    return b, []


def _particle_start(words: Sequence[str], a: int, taken: Mapping[int, int], own: int) -> int:
    """Where a person's name starts when particles precede it ("von der" Leyen)."""
    i = a
    while i > 0 and a - i < 3 and words[i - 1].lower() in PARTICLES and taken.get(i - 1) is None:
        i -= 1
    run = words[i:a]
    # two particles ("von der", "van den") or a capitalised one inside a sentence ("Van Gaal")
    if len(run) >= 2 and run[0].lower() in _RUN_START:
        return i
    if len(run) == 1 and i > 0 and run[0][:1].isupper() and run[0].lower() in _RUN_START:
        return i
    return a


def words_of(name: str) -> list[str]:
    """The space-separated words of a name."""
    return _WORDS.findall(name)
