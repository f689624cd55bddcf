"""newssearch: embedded full-text search for German news."""

from ._whoosh_fast import check_whoosh

check_whoosh()  # before anything that builds on Whoosh's internals

# ruff: noqa: E402
from .api import NewsSearch
from .config import (
    AnalysisConfig,
    Config,
    EnrichConfig,
    IndexingConfig,
    SearchConfig,
    load_config,
)
from .enrich.entities import Entity, extract_entities
from .enrich.sections import SECTIONS, Topic, classify
from .errors import (
    ArticleNotFoundError,
    ConfigError,
    CorpusError,
    EnrichmentError,
    IndexDamagedError,
    IndexError_,
    IndexIncompatibleError,
    IndexLockedError,
    IndexNotFoundError,
    IndexWriteError,
    NewsSearchError,
    QueryError,
)
from .ingest.readers import read_corpus
from .models import Article, Hit, IndexReport, Progress, Rejection, SearchResult
from .text.analysis import analyze, build_analyzer
from .version import __version__

__all__ = [
    "SECTIONS",
    "AnalysisConfig",
    "Article",
    "ArticleNotFoundError",
    "Config",
    "ConfigError",
    "CorpusError",
    "EnrichConfig",
    "EnrichmentError",
    "Entity",
    "Hit",
    "IndexDamagedError",
    "IndexError_",
    "IndexIncompatibleError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexWriteError",
    "IndexingConfig",
    "NewsSearch",
    "NewsSearchError",
    "Progress",
    "QueryError",
    "Rejection",
    "SearchConfig",
    "SearchResult",
    "Topic",
    "__version__",
    "analyze",
    "build_analyzer",
    "classify",
    "extract_entities",
    "load_config",
    "read_corpus",
]
