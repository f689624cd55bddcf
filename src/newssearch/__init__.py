"""newssearch: embedded full-text search for German news."""

from .analysis import analyze, build_analyzer
from .api import NewsSearch
from .config import AnalysisConfig, Config, IndexingConfig, SearchConfig, load_config
from .errors import (
    ArticleNotFoundError,
    ConfigError,
    CorpusError,
    IndexError_,
    IndexIncompatibleError,
    IndexLockedError,
    IndexNotFoundError,
    NewsSearchError,
    QueryError,
)
from .models import Article, Hit, IndexReport, Progress, Rejection, SearchResult

__version__ = "0.1.0"

__all__ = [
    "AnalysisConfig",
    "ArticleNotFoundError",
    "Article",
    "Config",
    "ConfigError",
    "CorpusError",
    "Hit",
    "IndexError_",
    "IndexIncompatibleError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexingConfig",
    "NewsSearch",
    "NewsSearchError",
    "Progress",
    "QueryError",
    "Rejection",
    "SearchConfig",
    "SearchResult",
    "__version__",
    "analyze",
    "build_analyzer",
    "load_config",
]
