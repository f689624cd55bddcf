"""One name per entity across the archive: the canonical facet value of every indexed name.

Entities are normalised article by article at index time (:mod:`newssearch.enrich.entities`);
across the archive one entity still has several values: "Merkel" beside "Angela Merkel",
"Europäischen Union" beside "Europäische Union", "EZB" beside "Europäische Zentralbank". This
pass reads every article's names from the index (the facet columns: the corpus is not read) and
decides, per name, the value it is counted and filtered under:

1. names are tidied (titles and role nouns out) and names never to show are dropped (the
   shipped list's sports-result codes, the user's ``entities.hide``);
2. inflected adjectives inside organisation and place names take their base form
   (Obersten Gerichtshof -> Oberster Gerichtshof, Europäischen Union -> Europäische Union);
3. aliases (the shipped list ``data/entity_names_de.tsv``, then the user's ``entities.aliases``)
   join their canonical name (EU -> Europäische Union, VW -> Volkswagen);
4. one kind per name across the archive: the user's ``entities.kinds``, else the shipped list's
   kind, else the kind most articles give it;
5. a short person name joins the one longer name it is the end (or the first word) of, when
   the archive makes that unambiguous (Merkel -> Angela Merkel); an upper-case abbreviation
   joins the one organisation or place whose initials it spells.

The result is a table ``entity term -> canonical value``
(:class:`~newssearch.query.facets.EntityMap`)
written to ``entities.json`` in the index folder; facet counts and filters read it. The index's
documents are not rewritten, so the pass is cheap and a changed ``entities:`` setting takes
effect with ``newssearch retag``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..config import Config, EntitiesConfig
from ..enrich.names import NAMES_RESOURCE, PARTICLES, NameList, shipped_names, strip_roles
from ..errors import IndexError_, IndexNotFoundError
from ..index.schema import ENTITY_FIELDS, FIELD_LABELS, entity_term
from ..index.writer import PASS_FILES, check_compatible, open_index, read_meta, write_lock
from ..query.facets import EntityMap, facet_tables
from ..text.names import name_key as key

MAP_FILE = PASS_FILES[0]
MAP_VERSION = 1

# --- base forms of organisation and place names -----------------------------------------------

#: adjectives that start many names (stems, lower case); others are known by their suffix
_ADJECTIVES = frozenset(
    """
    oberst europäisch deutsch weiß rot schwarz grün blau gelb neu alt groß klein hoch nah fern
    mittler vereinigt vereint frei heilig ober unter nieder vorder hinter zentral national
    international sozial liberal christlich islamisch arabisch britisch französisch russisch
    amerikanisch chinesisch österreichisch bayerisch schweizerisch evangelisch katholisch
    demokratisch republikanisch königlich kaiserlich olympisch nördlich südlich westlich östlich
    """.split()  # noqa: SIM905
)
_ADJECTIVE_SUFFIXES = ("isch", "lich", "ig", "igt", "al", "iv", "iell", "uell", "är", "ös")
_ADJECTIVE_ENDING = re.compile(r"^(.+?)(en|em|er|es|e)$")

#: head nouns by gender (lower-case endings): the base form's adjective ending follows them
_MASCULINE = tuple(
    """
    hof rat tag bund verband konzern senat ausschuss dienst fonds kongress markt verein club klub
    orden staat gipfel osten westen norden süden kanal see berg wald fluss gerichtshof sender
    """.split()  # noqa: SIM905
)
_FEMININE = tuple(
    """
    union bank partei kommission regierung agentur behörde gesellschaft gruppe liga versammlung
    organisation allianz front akademie universität schule armee marine polizei kammer börse
    stiftung bewegung hochschule zeitung post bahn initiative koalition republik föderation
    ung heit keit schaft ion tät ei ie ik insel küste
    """.split()  # noqa: SIM905
)
_NEUTER = tuple(
    """
    amt ministerium gericht parlament haus institut komitee kreuz büro zentrum kabinett land
    meer reich königreich forum theater museum orchester werk team gymnasium regime emirat
    fernsehen netz programm system bündnis kommando konsortium kartell
    """.split()  # noqa: SIM905
)
_ENDING = {"m": "er", "f": "e", "n": "es"}


def _gender(noun: str) -> str | None:
    """m, f or n for a head noun by its ending (None: unknown, or a plural)."""
    lower = noun.lower()
    for gender, endings in (("f", _FEMININE), ("n", _NEUTER), ("m", _MASCULINE)):
        if lower.endswith(endings):
            return gender
    return None


def _adjective_stem(word: str) -> str | None:
    """The stem of a capitalised inflected adjective ("Europäischen" -> "Europäisch"), else None."""
    if not word[:1].isupper() or "-" in word:
        return None
    m = _ADJECTIVE_ENDING.match(word)
    if not m:
        return None
    stem = m.group(1)
    lower = stem.lower()
    if lower in _ADJECTIVES or (len(lower) > 4 and lower.endswith(_ADJECTIVE_SUFFIXES)):
        return stem
    return None


def base_form(name: str) -> str:
    """An organisation's or place's name with its adjectives in the nominative.

    "Obersten Gerichtshof" -> "Oberster Gerichtshof", "Europäischen Parlaments" ->
    "Europäisches Parlament", "Vereinigten Staaten" -> "Vereinigte Staaten". Names without a
    leading adjective are left as they are.
    """
    words = name.split(" ")
    stems = []
    for word in words[:-1]:
        stem = _adjective_stem(word)
        if stem is None:
            break
        stems.append(stem)
    if not stems:
        return name
    at = len(stems)
    head, tail = words[at], words[at + 1 :]
    if not head[:1].isupper() or (tail and not tail[0][:1].islower()):
        return name
    gender = _gender(head)
    if gender is None and head.endswith("s"):
        # a genitive ("des Europäischen Parlaments", "des Islamischen Staates")
        for cut in (2, 1) if head.endswith("es") else (1,):
            if _gender(head[:-cut]) in ("m", "n"):
                head, gender = head[:-cut], _gender(head[:-cut])
                break
    if gender is None:
        # unknown gender or a plural: only the oblique endings go (-en, -em -> -e); a strong
        # ending the name already has stays ("Historischer Meilenstein")
        adjectives = [
            w if w[len(st) :] in ("e", "er", "es") else st + "e"
            for w, st in zip(words, stems, strict=False)
        ]
    else:
        adjectives = [st + _ENDING[gender] for st in stems]
    return " ".join([*adjectives, head, *tail])


def _initials(name: str) -> str:
    return "".join(w[0] for w in re.split(r"[\s-]+", name) if w[:1].isupper())


# --- the pass -------------------------------------------------------------------------------


@dataclass
class _Entity:
    """One name after tidying: its articles by kind and the spellings it was written in."""

    kinds: Counter = field(default_factory=Counter)
    spellings: Counter = field(default_factory=Counter)
    terms: set[str] = field(default_factory=set)
    display: str | None = None  # fixed by a list (alias target, base form)

    @property
    def articles(self) -> int:
        return sum(self.kinds.values())


def user_names(config: EntitiesConfig) -> tuple[NameList, dict[str, str]]:
    """The user's ``entities:`` setting as a :class:`NameList` (+ the kinds asked for aliases)."""
    kinds = {key(name): kind for name, kind in config.kinds.items()}
    aliases = {
        key(alias): (kinds.get(key(target), ""), target) for alias, target in config.aliases.items()
    }
    for target in config.aliases.values():
        aliases.setdefault(key(target), (kinds.get(key(target), ""), target))
    return NameList(kinds, aliases, frozenset(key(n) for n in config.hide)), kinds


def resolve_names(
    values: Sequence[str], articles: Sequence[int], config: EntitiesConfig | None = None
) -> dict[str, str]:
    """Entity term ("per:merkel") -> canonical facet value ("PER:Angela Merkel", "" = hidden).

    ``values`` are the index's facet values ("PER:Merkel"), ``articles`` how many articles
    hold each.
    """
    shipped = shipped_names()
    user, user_kinds = user_names(config or EntitiesConfig())
    names = shipped.merged(user)
    out: dict[str, str] = {}
    entities: dict[str, _Entity] = {}
    for value, count in zip(values, articles, strict=True):
        label, raw = value[:3], value[4:]
        term = entity_term(label, key(raw))
        if key(raw) in names.hidden:
            out[term] = ""
            continue
        name = strip_roles(raw)
        if label in ("ORG", "LOC"):
            name = base_form(name)
        k = key(name)
        if k in names.hidden:
            out[term] = ""
            continue
        if k in names.aliases:
            kind, canonical = names.aliases[k]
            entities.setdefault(key(canonical), _Entity()).display = canonical
            k = key(canonical)
        entity = entities.setdefault(k, _Entity())
        entity.kinds[label] += count
        entity.spellings[name] += count
        entity.terms.add(term)
    kind_of = {k: _kind(k, e, user_kinds, names) for k, e in entities.items()}
    target = _join_short_names(entities, kind_of)
    for k, entity in entities.items():
        final = k
        while final in target:
            final = target[final]
        head = entities[final]
        value = f"{kind_of[final]}:{head.display or _commonest(head)}"
        for term in entity.terms:
            out[term] = value
    # aliases the archive does not hold yet: a filter by them still finds the canonical name
    for alias_key, (kind, canonical) in names.aliases.items():
        final_kind = kind_of.get(key(canonical)) or kind or "ORG"
        for label in ("PER", "ORG", "LOC"):
            out.setdefault(entity_term(label, alias_key), f"{final_kind}:{canonical}")
    return out


def _commonest(entity: _Entity) -> str:
    return sorted(entity.spellings.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _kind(k: str, entity: _Entity, user_kinds: Mapping[str, str], names: NameList) -> str:
    """The one kind of a name across the archive: the user's, the list's, else the majority's."""
    if k in user_kinds:
        return user_kinds[k]
    if k in names.kinds:
        return names.kinds[k]
    return sorted(entity.kinds.items(), key=lambda kv: (-kv[1], "PER ORG LOC".index(kv[0])))[0][0]


#: a short name joins the longer one named in this many times the articles of the next one ...
DOMINANCE = 2.0
#: ... and in at least this many articles
MIN_ARTICLES = 2


def _join_short_names(entities: dict[str, _Entity], kind_of: Mapping[str, str]) -> dict[str, str]:
    """Short person names -> the longer name they stand for; abbreviations -> their expansion."""
    by_end: dict[tuple[str, ...], list[str]] = defaultdict(list)
    by_first: dict[str, list[str]] = defaultdict(list)
    initials: dict[str, list[str]] = defaultdict(list)
    for k, entity in entities.items():
        words = _words(entity)
        if len(words) < 2 or entity.articles < 1:
            continue
        if kind_of[k] == "PER":
            for n in range(1, len(words)):
                by_end[tuple(words[-n:])].append(k)
            by_first[words[0]].append(k)
            if " " in words[0]:  # "Frank-Walter": a "Frank" is not unambiguous either
                by_first[words[0].split(" ")[0]].append(k)
        else:
            initials[_initials(entity.display or _commonest(entity))].append(k)
    target: dict[str, str] = {}
    for k, entity in entities.items():
        if entity.display is not None:
            continue  # a name of the shipped or the user's list stays what the list says
        words = _words(entity)
        if kind_of[k] == "PER":
            owner = _owner(k.split(" "), entity, entities, kind_of, by_end, by_first)
            if owner is not None:
                target[k] = owner  # "Trumps Mauer" -> Trump (and on to Donald Trump)
                continue
            if len(words) > 1 and words[0] not in PARTICLES:
                continue  # a full name stays; "Van der Bellen" joins "Alexander Van der Bellen"
            best = _dominant([c for c in by_end.get(tuple(words), ()) if c != k], entities)
            if best is None and len(words) == 1:
                # Xi -> Xi Jinping: a first word joins only the one name it starts
                starting = [c for c in by_first.get(words[0], ()) if c != k]
                if len(starting) == 1 and entities[starting[0]].articles >= MIN_ARTICLES:
                    best = starting[0]
        else:
            display = entity.display or _commonest(entity)
            # two letters spell too many names (SV, GE): the shipped list has those it means
            if not (3 <= len(display) <= 6 and display.isupper() and display.isalpha()):
                continue
            best = _dominant([c for c in initials.get(display, ()) if c != k], entities)
        if best is not None:
            target[k] = best
    return target


def _words(entity: _Entity) -> tuple[str, ...]:
    """A name's words as keys, a hyphenated word one word ("Mikl-Leitner" is no "Leitner")."""
    return tuple(key(w) for w in (entity.display or _commonest(entity)).split(" "))


def _owner(
    words: list[str],
    entity: _Entity,
    entities: Mapping[str, _Entity],
    kind_of: Mapping[str, str],
    by_end: Mapping[tuple[str, ...], list[str]],
    by_first: Mapping[str, list[str]],
) -> str | None:
    """The person a genitive phrase taken for a name belongs to ("Trumps Gipfelwoche" -> Trump):
    the first word less its s is a person named far more often and more often as a family name
    than as a first name (Andreas Haug stays), the last word is no person."""
    if len(words) < 2 or len(words[0]) < 4 or not words[0].endswith("s"):
        return None
    owner, last = words[0][:-1], entities.get(words[-1])
    found = entities.get(owner)
    if found is None or kind_of[owner] != "PER" or (last and kind_of[words[-1]] == "PER"):
        return None
    if found.articles < max(MIN_ARTICLES, DOMINANCE * entity.articles):
        return None
    as_family = sum(entities[c].articles for c in by_end.get((owner,), ()))
    as_first = sum(entities[c].articles for c in by_first.get(owner, ()))
    return owner if as_family > as_first else None


def _dominant(candidates: list[str], entities: Mapping[str, _Entity]) -> str | None:
    """The candidate most articles name, when it is named far more often than any other
    (Donald Trump beside Ivanka Trump) and more than once (else ambiguous: None)."""
    ranked = sorted(candidates, key=lambda c: (-entities[c].articles, c))
    if not ranked or entities[ranked[0]].articles < MIN_ARTICLES:
        return None
    best = entities[ranked[0]].articles
    if len(ranked) > 1 and best < DOMINANCE * entities[ranked[1]].articles:
        return None
    return ranked[0]


# --- reading the index, writing the table ---------------------------------------------------


@dataclass(frozen=True)
class ResolveReport:
    """What the pass did: names read, names whose facet value changed, names hidden."""

    names: int
    joined: int
    hidden: int
    seconds: float

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"entities: {self.names:,} names, {self.joined:,} joined to a canonical name, "
            f"{self.hidden:,} hidden ({self.seconds:.1f}s)"
        )


def resolve_index(index_dir: Path, config: Config) -> ResolveReport:
    """Compute the canonical name of every entity of the index and write ``entities.json``."""
    started = time.monotonic()
    index_dir = Path(index_dir)
    if read_meta(index_dir) is None:
        raise IndexNotFoundError(f"no index in {index_dir}: run `newssearch index` first")
    with write_lock(index_dir, config.indexing.lock_timeout):
        meta = read_meta(index_dir)
        assert meta is not None
        check_compatible(index_dir, meta, config.analysis)
        ix = open_index(index_dir, config.analysis)
        try:
            basis = _basis(meta["indexname"], ix.latest_generation(), config)
            done = _done(index_dir / MAP_FILE, basis)
            if done is not None:  # nothing changed since the table was made
                return ResolveReport(*done, time.monotonic() - started)
            with ix.reader() as reader:
                values, counts = archive_names(reader)
        finally:
            ix.close()
        table = resolve_names(values, counts, config.entities)
        raw = {entity_term(v[:3], key(v[4:])): v for v in values}
        joined = sum(1 for t, v in raw.items() if table.get(t) and key(table[t]) != key(v))
        hidden = sum(1 for t in raw if table.get(t) == "")
        data = {
            "version": MAP_VERSION,
            "basis": basis,
            "summary": [len(raw), joined, hidden],
            "names": table,
        }
        try:
            _write(index_dir / MAP_FILE, data)
        except OSError as exc:
            raise IndexError_(
                f"cannot write {index_dir / MAP_FILE} ({exc.strerror or exc}): check the index "
                "folder's permissions and free space"
            ) from None
    return ResolveReport(len(raw), joined, hidden, time.monotonic() - started)


def _basis(indexname: str, generation: int, config: Config) -> str:
    """What the table is made from: the index's commit, the corrections, the shipped list and
    the rules (this module's code: an upgrade that changes them remakes the table)."""
    made_from = repr(
        (
            sorted(config.entities.aliases.items()),
            sorted(config.entities.kinds.items()),
            sorted(config.entities.hide),
        )
    )
    digest = hashlib.sha256(made_from.encode("utf-8"))
    digest.update(resources.files("newssearch").joinpath("data", NAMES_RESOURCE).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return f"{indexname}:{generation}:{digest.hexdigest()[:16]}"


def _done(path: Path, basis: str) -> tuple[int, int, int] | None:
    """The summary of the table at ``path`` when it was made from ``basis``."""
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("version") == MAP_VERSION and data.get("basis") == basis:
            names, joined, hidden = data["summary"]
            return int(names), int(joined), int(hidden)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    return None


def archive_names(reader) -> tuple[list[str], list[int]]:
    """Every facet value ("PER:Name") of the live articles, with how many articles hold it."""
    table = facet_tables(reader).table("entity")
    if not table.values:
        return [], []
    docs = np.fromiter(reader.all_doc_ids(), dtype=np.int64)
    counts = table.count(docs)
    present = np.flatnonzero(counts)
    return [table.values[i] for i in present.tolist()], counts[present].tolist()


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_entity_map(index_dir: Path) -> EntityMap | None:
    """The index's table of canonical names (None when the pass has not run on it)."""
    path = Path(index_dir) / MAP_FILE
    try:
        stat = path.stat()
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != MAP_VERSION:
        return None
    return EntityMap(data.get("names") or {}, version=f"{stat.st_mtime_ns}:{stat.st_size}")


def canonical_entities(
    entities: Mapping[str, Sequence[str]], entity_map: EntityMap
) -> dict[str, tuple[str, ...]]:
    """An article's {"person": names, ...} under the archive's canonical names and kinds."""
    out: dict[str, list[str]] = {facet: [] for facet in entities}
    for facet, names in entities.items():
        for name in names:
            value = entity_map.canonical(FIELD_LABELS[facet], name)
            if value is None:
                value = f"{FIELD_LABELS[facet]}:{name}"
            if not value:
                continue  # never shown
            shown = out.setdefault(ENTITY_FIELDS[value[:3]], [])
            if value[4:] not in shown:
                shown.append(value[4:])
    return {facet: tuple(names) for facet, names in out.items()}
