"""Shared fixtures; shared German data is optional and tests needing it skip without it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from newssearch import Config, NewsSearch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSSEARCH_DATA", REPO.parent / "shared" / "data"))
SEED = REPO / "corpus" / "xi-putin-gipfel.txt"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # An empty run must never pass CI (pytest's own code 5 would, if a wrapper ignored it).
    if session.testscollected == 0:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip when this checkout has none (a user's fresh clone)."""
    if not (SHARED / "corpus" / "gnad.jsonl").exists():
        pytest.skip(f"shared German data not found at {SHARED} (set NEWSSEARCH_DATA)")
    return SHARED


def write_jsonl(path: Path, records: list) -> Path:
    """Write records (dicts, or raw strings taken as lines) as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        )
    return path


NEWS = [
    {
        "id": "a1",
        "title": "Bundesrat billigt Asylpaket",
        "date": "2016-02-26",
        "source": "Der Standard",
        "text": "Die Länderkammer hat das umstrittene Asylpaket gebilligt. Flüchtlinge müssen länger warten.",
    },
    {
        "id": "a2",
        "title": "Rapid gewinnt in Mattersburg",
        "date": "2016-03-12",
        "source": "Kurier",
        "text": "Der SK Rapid hat das Auswärtsspiel in Mattersburg mit 2:1 gewonnen. Barisic lobte die Mannschaft.",
    },
    {
        "id": "a3",
        "title": "Neue Straßenbahn für München",
        "date": "2015-11-02",
        "source": "SZ",
        "text": "Die Stadtwerke München bestellen neue Straßenbahnen. Die erste fährt 2017 durch die Innenstadt.",
    },
    {
        "id": "a4",
        "title": "US-Wahl: Theresa May gratuliert",
        "date": "2016-11-09T08:30:00+01:00",
        "source": "FAZ",
        "text": "Die britische Premierministerin Theresa May gratulierte dem Sieger der US-Wahl.",
    },
]


@pytest.fixture
def news_file(tmp_path: Path) -> Path:
    """A small JSONL corpus of four German news items."""
    return write_jsonl(tmp_path / "corpus" / "news.jsonl", NEWS)


@pytest.fixture
def ns(tmp_path: Path, news_file: Path):
    """A NewsSearch over a fresh index of ``news_file``."""
    with NewsSearch(tmp_path / "index", Config(index=tmp_path / "index")) as api:
        api.index([news_file])
        yield api
