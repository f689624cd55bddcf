"""The terminal view at 80 columns: wrapping, date chart interval, empty results, Ctrl-C, help."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import Config, NewsSearch
from newssearch.cli import cli

from .conftest import REPO, write_jsonl

LONG = (
    "Die Bundesregierung und die Landesregierungen haben sich nach langen Verhandlungen "
    "über die Verteilung der Kosten für die Unterbringung von Flüchtlingen geeinigt, "
    "teilte Bundeskanzlerin Angela Merkel am Abend in Berlin mit."
)


def archive(n: int = 40) -> list[dict]:
    """Articles over ten years with long titles and texts and one person."""
    return [
        {
            "id": f"lang-{i}",
            "title": "Einigung über die Kosten der Unterbringung von Flüchtlingen in den "
            f"Ländern und Gemeinden, Folge {i}",
            "date": (dt.date(2010, 1, 15) + dt.timedelta(days=92 * i)).isoformat(),
            "source": "Süddeutsche Zeitung" if i % 2 else "Frankfurter Allgemeine Zeitung",
            "text": LONG + f" Nummer {i}.",
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("terminal")
    corpus = write_jsonl(root / "corpus.jsonl", archive())
    with NewsSearch(root / "index", Config(index=root / "index")) as ns:
        ns.index([corpus])
    return root / "index"


def run(args: list[str], columns: int = 80):
    return CliRunner().invoke(cli, args, env={"COLUMNS": str(columns)}, terminal_width=columns)


def test_query_output_fits_80_columns_and_uses_wider_terminals(index_dir):
    args = ["query", "Unterbringung Flüchtlinge", "--facets", "--index", str(index_dir)]
    narrow = run(args, 80)
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.output.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert "Merkel" in narrow.output and "Flüchtlingen" in narrow.output
    wide = run(args, 120)
    assert max(len(line) for line in wide.output.splitlines()) > 80
    assert len(wide.output.splitlines()) < len(lines)


def test_date_chart_of_ten_years_stays_a_few_lines(index_dir):
    # the fixture's articles repeat one text over ten years: list every copy, not one story
    args = ["query", "Unterbringung", "--facets", "--all-copies", "--index", str(index_dir)]
    result = run(args)
    chart = result.output.split("Dates:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert 5 <= len(chart) <= 15, chart  # years, not 120 months
    assert all(re.match(r"  \d{4} ", line) for line in chart)
    monthly = run([*args, "--interval", "month"])
    assert len(monthly.output.split("Dates:\n", 1)[1].splitlines()) > 100  # asked for


def test_empty_result_names_the_unknown_facet_value_with_did_you_mean(index_dir):
    result = run(["query", "Unterbringung", "--person", "Merkl", "--index", str(index_dir)])
    assert result.exit_code == 0
    assert "No articles match 'Unterbringung'." in result.output
    assert "no article has the person 'Merkl'; did you mean 'Angela Merkel'?" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_empty_result_says_when_the_filters_caused_it(index_dir):
    result = run(["query", "Unterbringung", "--from", "2030-01-01", "--index", str(index_dir)])
    assert "The filters caused this: 40 articles match without --from 2030-01-01." in (
        " ".join(result.output.split())
    )
    nothing = run(["query", "Raumfahrt", "--person", "Angela Merkel", "--index", str(index_dir)])
    assert "No article matches even without the filters." in nothing.output
    as_json = run(
        ["query", "Unterbringung", "--person", "Merkl", "--json", "--index", str(index_dir)]
    )
    assert "did you mean 'Angela Merkel'" in as_json.stderr  # JSON on stdout stays clean


def test_help_lists_each_command_once_within_80_columns():
    result = run(["--help"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    commands = lines[lines.index("Commands:") + 1 :]
    names = [line.split()[0] for line in commands if re.match(r"  \w", line)]
    assert sorted(names) == sorted(cli.commands)  # each once, in the Commands list only
    assert not any("..." in line for line in commands)  # first sentences not cut off


def test_ctrl_c_during_indexing_says_what_was_kept(tmp_path, monkeypatch):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", archive(300))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"index: {tmp_path / 'index'}\nindexing:\n  batch_size: 10\n  workers: 1\n", "utf-8"
    )
    calls = []

    def ctrl_c(progress):  # the user presses Ctrl-C while records are read
        calls.append(progress.records)
        raise KeyboardInterrupt

    real_index = NewsSearch.index

    def index_until_ctrl_c(self, paths=None, **options):
        return real_index(self, paths, **{**options, "progress": ctrl_c})

    monkeypatch.setattr(NewsSearch, "index", index_until_ctrl_c)
    result = CliRunner().invoke(cli, ["index", "--config", str(config), str(corpus)])
    assert result.exit_code == 130, result.output
    kept = int(re.search(r"keeps ([\d,]+) article", result.stderr).group(1).replace(",", ""))
    with NewsSearch(tmp_path / "index", Config(index=tmp_path / "index")) as ns:
        assert ns.count() == kept
    assert "Run the same command again" in result.stderr
    monkeypatch.undo()
    again = CliRunner().invoke(cli, ["index", "--config", str(config), str(corpus)])
    assert again.exit_code == 0, again.output
    assert calls and kept < 300
    assert f"{kept:,} unchanged" in again.output and "300 articles" in again.output


def test_query_does_not_import_the_web_stack(index_dir):
    code = (
        "import sys\n"
        "from newssearch.cli import cli\n"
        f"cli(['query', 'Unterbringung', '--index', {str(index_dir)!r}], standalone_mode=False)\n"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2', 'newssearch.web') "
        "if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
