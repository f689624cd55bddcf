"""Known-item relevance on the shared data: the default config must keep its measured quality."""

import sys
from pathlib import Path

import pytest

from newssearch import AnalysisConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import relevance


@pytest.mark.slow
def test_default_config_reaches_the_bar_and_beats_no_stemming(shared_data, tmp_path):
    queries = relevance.load_queries(shared_data / "queries" / "known_item_dev.jsonl")
    default, _ = relevance.build(AnalysisConfig(), tmp_path / "default")
    plain, _ = relevance.build(AnalysisConfig(stemmer="none"), tmp_path / "plain")
    with default, plain:
        ours, theirs = relevance.evaluate(default, queries), relevance.evaluate(plain, queries)
    assert ours["all"][0] >= 0.94
    for kind in ("kw", "nl"):
        assert ours[kind][0] >= theirs[kind][0], kind
