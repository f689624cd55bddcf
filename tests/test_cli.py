import json
import re
import shutil

import click
import pytest
from click.testing import CliRunner

from newssearch.cli import cli

from .conftest import REPO, SEED, write_jsonl


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def indexed(tmp_path, runner, news_file):
    index = tmp_path / "ix"
    result = runner.invoke(cli, ["index", "--index", str(index), str(news_file)])
    assert result.exit_code == 0, result.output
    return index


def test_index_prints_summary(tmp_path, runner, news_file):
    result = runner.invoke(cli, ["index", "--index", str(tmp_path / "ix"), str(news_file)])
    assert result.exit_code == 0
    assert (
        "read 4 records from 1 file: 4 added, 0 updated, 0 unchanged, 0 rejected" in result.output
    )


def test_index_reports_rejections_with_file_and_line(tmp_path, runner):
    path = write_jsonl(
        tmp_path / "bad.jsonl", [{"text": "gut"}, "{kaputt", {"text": "x", "date": 12}]
    )
    result = runner.invoke(cli, ["index", "--index", str(tmp_path / "ix"), str(path)])
    assert result.exit_code == 0
    assert f"rejected {path}:2: broken JSON" in result.output
    assert f"rejected {path}:3: 'date' must be" in result.output
    assert (
        "read 3 records from 1 file: 1 added, 0 updated, 0 unchanged, 2 rejected" in result.output
    )


def test_index_json_and_strict(tmp_path, runner):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "gut"}, "{kaputt"])
    result = runner.invoke(cli, ["index", "--index", str(tmp_path / "ix"), "--json", str(path)])
    data = json.loads(result.output)
    assert data["read"] == 2 and data["rejected"][0]["line"] == 2
    result = runner.invoke(cli, ["index", "--index", str(tmp_path / "ix2"), "--strict", str(path)])
    assert result.exit_code == 1
    assert (
        "Error:" in result.output
        and "bad.jsonl:2" in result.output
        and "Traceback" not in result.output
    )


def test_query_terminal_view(runner, indexed):
    result = runner.invoke(cli, ["query", "--index", str(indexed), "Mattersburg"])
    assert result.exit_code == 0
    assert "1 article matches 'Mattersburg'" in result.output
    assert "1. Rapid gewinnt in Mattersburg" in result.output
    assert "2016-03-12 · Kurier · Sport · a2" in result.output  # the predicted section is shown
    assert "Mattersburg mit 2:1 gewonnen" in result.output  # snippet (bold only on a terminal)


def test_query_json(runner, indexed):
    result = runner.invoke(cli, ["query", "--index", str(indexed), "--json", "Flüchtlinge"])
    data = json.loads(result.output)
    assert data["query"] == "Flüchtlinge" and data["total"] == 1
    (hit,) = data["hits"]
    assert set(hit) >= {"id", "title", "date", "source", "url", "score", "snippet"}
    assert hit["id"] == "a1" and hit["date"] == "2016-02-26" and "**Flüchtlinge**" in hit["snippet"]


def test_query_options(runner, indexed):
    args = ["query", "--index", str(indexed), "--json"]
    out = json.loads(
        runner.invoke(
            cli,
            [
                *args,
                "--sort",
                "date",
                "--limit",
                "1",
                "--page",
                "2",
                "Mannschaft OR Innenstadt OR Sieger OR Flüchtlinge",
            ],
        ).output
    )
    assert [h["id"] for h in out["hits"]] == ["a2"] and out["total"] == 4
    out = json.loads(runner.invoke(cli, [*args, "--fields", "title", "Länderkammer"]).output)
    assert out["total"] == 0


def test_query_syntax_error_exits_2(runner, indexed):
    result = runner.invoke(cli, ["query", "--index", str(indexed), "--strict", '"offen'])
    assert result.exit_code == 2
    assert "unbalanced quote" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["query", "--index", str(indexed), '"offen'])
    assert result.exit_code == 0 and "Note: the unpaired quote" in result.output
    args = ["query", "--index", str(indexed), "--json", '"offen']
    out = json.loads(runner.invoke(cli, args).output)
    assert out["notice"].startswith("the unpaired quote")


def test_query_without_index_says_what_to_do(tmp_path, runner):
    result = runner.invoke(cli, ["query", "--index", str(tmp_path / "none"), "x"])
    assert result.exit_code == 1
    assert "run `newssearch index` first" in result.output


def test_bad_config_names_the_key(tmp_path, runner):
    (tmp_path / "c.yaml").write_text("analysis:\n  stemmer: porter\n")
    result = runner.invoke(cli, ["query", "--config", str(tmp_path / "c.yaml"), "x"])
    assert result.exit_code == 1 and "'analysis.stemmer' must be one of" in result.output


def test_show_and_analyze(runner, indexed):
    result = runner.invoke(cli, ["show", "--index", str(indexed), "a3"])
    assert result.exit_code == 0 and "Neue Straßenbahn für München" in result.output
    data = json.loads(runner.invoke(cli, ["show", "--index", str(indexed), "--json", "a3"]).output)
    assert data["source"] == "SZ"
    missing = runner.invoke(cli, ["show", "--index", str(indexed), "nope"])
    assert missing.exit_code == 1 and "no article with id 'nope'" in missing.output
    assert runner.invoke(cli, ["analyze", "Die Straßen Münchens"]).output.strip() == "strass munch"


def _commands(group):
    yield group
    for cmd in getattr(group, "commands", {}).values():
        yield from _commands(cmd)


def test_help_text_on_every_command_and_option(runner):
    for cmd in _commands(cli):
        assert cmd.help, f"{cmd.name} has no help"
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"{cmd.name} {param.opts} has no help"
    for name in cli.commands:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "--index" in result.output and "--config" in result.output


def test_end_to_end_on_the_seed_article(tmp_path, runner, monkeypatch):
    """The README's first command: index corpus/ as config.yaml says, then query."""
    work = tmp_path / "checkout"
    (work / "corpus").mkdir(parents=True)
    shutil.copy(SEED, work / "corpus")
    shutil.copy(REPO / "config.yaml", work)
    monkeypatch.chdir(work)
    result = runner.invoke(cli, ["index"])
    assert result.exit_code == 0 and "1 added" in result.output, result.output
    result = runner.invoke(cli, ["query", "--json", "Putins Bündnis"])
    assert json.loads(result.output)["hits"][0]["id"] == "xi-putin-gipfel.txt"
    result = runner.invoke(cli, ["query", "Militärparade"])
    assert "Historischer Schulterschluss" in result.output
    assert "1 unchanged" in runner.invoke(cli, ["index"]).output


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "newssearch", "--help"], capture_output=True, text=True, check=True
    )
    assert "newssearch index" in out.stdout


def test_similar_and_suggestion_in_cli(runner, indexed):
    result = runner.invoke(cli, ["similar", "--index", str(indexed), "a1", "--json"])
    assert result.exit_code == 0 and "a1" not in [
        h["id"] for h in json.loads(result.output)["hits"]
    ]
    result = runner.invoke(cli, ["similar", "--index", str(indexed), "nope"])
    assert result.exit_code == 1 and "no article with id 'nope'" in result.output
    result = runner.invoke(cli, ["query", "--index", str(indexed), "Flüchtlnge"])
    assert "Did you mean: Flüchtlinge?" in result.output


def test_rejects_file_and_check(tmp_path, runner):
    path = write_jsonl(
        tmp_path / "bad.jsonl", [{"id": "ok", "text": "gut"}, "{kaputt", {"text": "x", "date": 12}]
    )
    rejects = tmp_path / "rejects.jsonl"
    result = runner.invoke(
        cli, ["index", "--index", str(tmp_path / "ix"), "--rejects", str(rejects), str(path)]
    )
    assert result.exit_code == 0
    rows = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    assert [(r["line"], r["record"]) for r in rows] == [
        (2, "{kaputt"),
        (3, '{"text": "x", "date": 12}'),
    ]
    result = runner.invoke(cli, ["check", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0 and "OK; 1 article in 1 segment" in result.output
    (tmp_path / "ix" / "newssearch.json").write_text(
        '{"format_version": 0, "indexname": "ns1", "analysis": {}}'
    )
    result = runner.invoke(cli, ["check", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1 and "format version 0" in result.output


def test_facets_and_filters_in_cli(runner, indexed):
    result = runner.invoke(
        cli,
        [
            "query",
            "--index",
            str(indexed),
            "--facets",
            "Mannschaft OR Innenstadt OR Sieger OR Flüchtlinge",
        ],
    )
    assert result.exit_code == 0
    assert "Sources: Der Standard (1) · FAZ (1) · Kurier (1) · SZ (1)" in result.output
    assert re.search(r"^  2015-11 █+ 1$", result.output, re.M)  # auto interval: months
    data = json.loads(
        runner.invoke(
            cli,
            [
                "query",
                "--index",
                str(indexed),
                "--json",
                "--source",
                "Kurier",
                "--source",
                "SZ",
                "--from",
                "2016-01-01",
                "Mannschaft OR Innenstadt",
            ],
        ).output
    )
    assert [h["id"] for h in data["hits"]] == ["a2"] and data["facets"] == {}


def test_export_writes_all_matches(runner, indexed):
    import csv as csv_module
    import io

    args = [
        "query",
        "--index",
        str(indexed),
        "--limit",
        "1",
        "Mannschaft OR Innenstadt OR Sieger OR Flüchtlinge",
    ]
    rows = list(csv_module.DictReader(io.StringIO(runner.invoke(cli, [*args, "--csv"]).output)))
    assert len(rows) == 4 and {r["id"] for r in rows} == {"a1", "a2", "a3", "a4"}
    assert list(rows[0]) == [
        "rank",
        "id",
        "title",
        "date",
        "source",
        "author",
        "section",
        "topics",
        "person",
        "org",
        "place",
        "url",
        "score",
    ]
    lines = runner.invoke(
        cli, [*args, "--jsonl", "--sort", "date", "--source", "Kurier", "--source", "SZ"]
    ).output.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a2", "a3"]
