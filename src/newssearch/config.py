"""Configuration: frozen dataclasses loaded from ``config.yaml`` with ``yaml.safe_load``.

Missing keys take the defaults below; an unknown key or a value of the wrong type is a
:class:`ConfigError` that names the key (``analysis.stemmer``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

STEMMERS = ("snowball", "cistem", "none")
STOPWORDS = ("german", "none")
UMLAUTS = ("fold", "none")
OPERATORS = ("or", "and")
SORTS = ("relevance", "date")
SEARCH_FIELDS = ("title", "body", "source", "author", "section", "topic", "person", "org", "place")


@dataclass(frozen=True)
class AnalysisConfig:
    """How German text becomes index terms; the same settings serve documents and queries."""

    stemmer: str = field(default="snowball", metadata={"choices": STEMMERS})
    stopwords: str = field(default="german", metadata={"choices": STOPWORDS})
    umlauts: str = field(default="fold", metadata={"choices": UMLAUTS})
    hyphens: bool = True
    decompound: bool = True

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, as stored with the index to detect mismatches."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SearchConfig:
    """How queries are parsed and ranked."""

    limit: int = 10
    operator: str = field(default="or", metadata={"choices": OPERATORS})
    # Weight of "documents matching more query words" under the OR operator
    # (Whoosh OrGroup factor); 0 is plain OR.
    coord: float = 0.9
    # BM25F length normalisation and term saturation, measured on the known-item and web-query
    # sets together (docs/ranking.md): short items sit beside long articles.
    bm25_b: float = 0.4
    bm25_k1: float = 0.8
    # Modest title weight, set by the guards in tests/test_query_reading.py: at 3 a short title
    # with one query word outranks articles with all of them; at 1 a title with the whole
    # query no longer comes first (docs/ranking.md).
    boosts: Mapping[str, float] = field(default_factory=lambda: {"title": 1.5, "body": 1.0})
    snippet_chars: int = 240
    # "Did you mean" suggestions for query words the index does not know.
    suggest: bool = True
    # Seconds a query may run before it is stopped with a message.
    time_limit: float = 5.0
    # Score whole posting blocks with numpy (newssearch._whoosh_fast.vector); false: Whoosh's
    # own collectors. Same hits either way; any surprise falls back to Whoosh by itself.
    fast: bool = field(default_factory=lambda: fast_default())


def fast_default() -> bool:
    """Default of the fast-path switches: on, unless NEWSSEARCH_FAST=0 is set in the environment."""
    return os.environ.get("NEWSSEARCH_FAST", "1").strip().lower() not in ("0", "false", "no", "off")


def default_workers() -> int:
    """Enrichment processes when config.yaml does not say: one per core, at most four."""
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True)
class IndexingConfig:
    """How index runs write."""

    batch_size: int = 20_000
    lock_timeout: float = 10.0
    memory_mb: int = 256
    # An article text longer than this is rejected (a 50 MB "article" is almost always junk).
    max_text_mb: float = 10.0
    # Processes enriching articles (sections, entities) beside the one writing; 1 = no pool.
    workers: int = field(default_factory=default_workers)
    # Write segments with the fused writer (newssearch._whoosh_fast.segments); false: Whoosh's
    # own writer. Same files either way; any surprise falls back to Whoosh by itself.
    fast_writer: bool = field(default_factory=lambda: fast_default())


@dataclass(frozen=True)
class EnrichConfig:
    """What is derived from each article at index time (changing it needs ``index --rebuild``)."""

    # Tag each article with its predicted section (the built-in classifier).
    sections: bool = True
    # Extract people, organisations and places (the built-in entity tagger).
    entities: bool = True
    # Group wire copies (near-duplicate bodies) into stories: search(collapse=True), duplicates.
    stories: bool = True


ENTITY_KINDS = ("PER", "ORG", "LOC")


@dataclass(frozen=True)
class EntitiesConfig:
    """Corrections to entity names across the archive (``newssearch retag`` applies edits)."""

    # alias -> canonical name: "Merkel: Angela Merkel" counts and filters both as Angela Merkel
    aliases: Mapping[str, str] = field(default_factory=dict)
    # name -> PER, ORG or LOC: the kind the name is listed under everywhere
    kinds: Mapping[str, str] = field(default_factory=dict)
    # names never shown in facets
    hide: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Everything newssearch reads from ``config.yaml``; paths are resolved against its folder."""

    index: Path = Path("index")
    corpus: tuple[Path, ...] = (Path("corpus"),)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    indexing: IndexingConfig = field(default_factory=IndexingConfig)
    enrich: EnrichConfig = field(default_factory=EnrichConfig)
    # User topics: name -> saved query; every matching article gets the name as a topic.
    topics: Mapping[str, str] = field(default_factory=dict, metadata={"kind": "topics"})
    # Aliases, kinds and hidden names for the archive-wide entity names.
    entities: EntitiesConfig = field(default_factory=EntitiesConfig, metadata={"kind": "entities"})
    # Field names of the input: our field -> other names that mean it ({source: [zeitung]}).
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict, metadata={"kind": "fields"})

    def replace(self, **changes: Any) -> Config:
        """A copy with some top-level fields changed."""
        return dataclasses.replace(self, **changes)


def load_config(path: str | Path | None = None) -> Config:
    """Load ``path`` (or ``./config.yaml`` when it exists, else the defaults)."""
    if path is None:
        default = Path("config.yaml")
        if not default.is_file():
            return resolve_paths(Config(), Path.cwd())
        path = default
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return resolve_paths(config_from_dict(data or {}, source=str(path)), path.parent.resolve())


def config_from_dict(data: Any, source: str = "config") -> Config:
    """Build a Config from a parsed mapping, checking every key and type."""
    return _build(Config, data, prefix="", source=source)


def resolve_paths(config: Config, base: Path) -> Config:
    """Make relative index and corpus paths relative to ``base``."""
    return config.replace(
        index=base / config.index if not config.index.is_absolute() else config.index,
        corpus=tuple(p if p.is_absolute() else base / p for p in config.corpus),
    )


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    where = f"'{prefix.rstrip('.')}'" if prefix else "the top level"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {where} must be a mapping of keys to values")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(map(str, data)) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key '{prefix}{unknown[0]}' (known keys here: {', '.join(fields)})"
        )
    values = {
        name: _convert(fields[name], value, f"{prefix}{name}", source)
        for name, value in data.items()
    }
    return cls(**values)


def _convert(f: dataclasses.Field, value: Any, key: str, source: str) -> Any:
    factory: Any = f.default_factory
    default = f.default if f.default is not dataclasses.MISSING else factory()

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{source}: '{key}' must be {expected}, got {value!r}")

    if f.metadata.get("kind") == "topics":
        return _topics(value, key, source)
    if f.metadata.get("kind") == "entities":
        return _entities(value, key, source)
    if f.metadata.get("kind") == "fields":
        return _fields(value, key, source)
    if dataclasses.is_dataclass(default):
        return _build(type(default), value, prefix=key + ".", source=source)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("a positive whole number")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise bad("a number >= 0")
        return float(value)
    if isinstance(default, str):
        choices = f.metadata.get("choices")
        if not isinstance(value, str) or (choices and value not in choices):
            raise bad(f"one of {', '.join(choices)}" if choices else "a string")
        return value
    if isinstance(default, Path):
        if not isinstance(value, str) or not value:
            raise bad("a path")
        return Path(value).expanduser()
    if isinstance(default, tuple):  # a list of paths
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
            raise bad("a path or a list of paths")
        return tuple(Path(v).expanduser() for v in items)
    if isinstance(default, Mapping):  # field boosts
        if not isinstance(value, Mapping):
            raise bad("a mapping of field names to numbers")
        boosts = {}
        for name, boost in value.items():
            if name not in SEARCH_FIELDS:
                raise ConfigError(
                    f"{source}: unknown field '{key}.{name}' "
                    f"(searchable fields: {', '.join(SEARCH_FIELDS)})"
                )
            if isinstance(boost, bool) or not isinstance(boost, (int, float)) or boost <= 0:
                raise ConfigError(f"{source}: '{key}.{name}' must be a number > 0, got {boost!r}")
            boosts[name] = float(boost)
        return boosts
    raise AssertionError(f"no converter for config key {key}")  # pragma: no cover


def _topics(value: Any, key: str, source: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{source}: '{key}' must be a mapping of topic names to queries, got {value!r}"
        )
    topics = {}
    for name, query in value.items():
        if not isinstance(name, str) or not name.strip() or "," in name:
            raise ConfigError(
                f"{source}: topic name {name!r} in '{key}' must be a non-empty string without "
                f"commas"
            )
        if not isinstance(query, str) or not query.strip():
            raise ConfigError(f"{source}: '{key}.{name}' must be a query string, got {query!r}")
        topics[name.strip()] = query.strip()
    return topics


def _entities(value: Any, key: str, source: str) -> EntitiesConfig:
    if value is None:
        return EntitiesConfig()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: '{key}' must be a mapping with aliases, kinds and hide")
    unknown = sorted(set(map(str, value)) - {"aliases", "kinds", "hide"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown key '{key}.{unknown[0]}' (known keys here: aliases, kinds, hide)"
        )

    def names(sub: str) -> dict[str, str]:
        raw = value.get(sub) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: '{key}.{sub}' must be a mapping of names, got {raw!r}")
        out = {}
        for name, other in raw.items():
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{source}: name {name!r} in '{key}.{sub}' must be a string")
            if not isinstance(other, str) or not other.strip():
                raise ConfigError(f"{source}: '{key}.{sub}.{name}' must be a name, got {other!r}")
            out[name.strip()] = other.strip()
        return out

    kinds = names("kinds")
    for name, kind in kinds.items():
        if kind not in ENTITY_KINDS:
            raise ConfigError(
                f"{source}: '{key}.kinds.{name}' must be one of "
                f"{', '.join(ENTITY_KINDS)}, got {kind!r}"
            )
    hide = value.get("hide") or []
    if isinstance(hide, str):
        hide = [hide]
    if not isinstance(hide, list) or not all(isinstance(h, str) and h.strip() for h in hide):
        raise ConfigError(f"{source}: '{key}.hide' must be a list of names, got {hide!r}")
    return EntitiesConfig(names("aliases"), kinds, tuple(h.strip() for h in hide))


#: Fields the ``fields:`` mapping may name (corpus.MAPPABLE_FIELDS).
MAPPED_FIELDS = ("id", "text", "title", "source", "url", "author", "section", "date")


def _fields(value: Any, key: str, source: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{source}: '{key}' must map our field names to the input's, "
            f"e.g. {{source: [zeitung], text: [inhalt]}}; got {value!r}"
        )
    out = {}
    for name, names in value.items():
        if name not in MAPPED_FIELDS:
            raise ConfigError(
                f"{source}: unknown field '{key}.{name}' (fields that can be mapped: "
                f"{', '.join(MAPPED_FIELDS)})"
            )
        items = [names] if isinstance(names, str) else names
        if not isinstance(items, list) or not all(isinstance(n, str) and n.strip() for n in items):
            raise ConfigError(
                f"{source}: '{key}.{name}' must be a column name or a list of them, got {names!r}"
            )
        out[name] = tuple(n.strip().lower() for n in items)
    return out
