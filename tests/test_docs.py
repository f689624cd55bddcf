"""The documentation stays true: docs/cli.md is the CLI's help, and local links lead to files."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from newssearch.cli import cli

REPO = Path(__file__).resolve().parents[1]
CLI_DOC = REPO / "docs" / "cli.md"


def _generator():
    script = REPO / "scripts" / "gen_cli_docs.py"
    spec = importlib.util.spec_from_file_location("gen_cli_docs", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _generator()


def test_cli_reference_is_up_to_date() -> None:
    current = CLI_DOC.read_text(encoding="utf-8") if CLI_DOC.exists() else ""
    stale = "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"
    assert current == gen.render(cli), stale


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_cli_reference_shows_the_help_a_user_sees(name: str) -> None:
    result = CliRunner().invoke(
        cli, [name, "--help"], prog_name="newssearch", terminal_width=gen.WIDTH
    )
    assert result.exit_code == 0, result.output
    assert f"## newssearch {name}\n\n```text\n{result.output.rstrip()}\n```" in gen.render(cli)


def test_a_new_command_and_its_options_appear() -> None:
    group = click.Group("newssearch", commands=dict(cli.commands))

    @group.command()
    @click.option("--port", type=int, default=8080, show_default=True, help="Port to listen on.")
    def serve(port: int) -> None:
        """Serve the search page over HTTP."""

    text = gen.render(group)
    assert "- [`newssearch serve`](#newssearch-serve): Serve the search page over HTTP." in text
    assert "## newssearch serve" in text
    assert "--port INTEGER  Port to listen on.  [default: 8080]" in text
    assert text != gen.render(cli)


def test_check_mode_fails_on_a_stale_page_and_write_mode_fixes_it(tmp_path: Path, capsys) -> None:
    page = tmp_path / "cli.md"
    page.write_text(gen.render(cli).replace("Search the index for TEXT.", "Search."), "utf-8")
    assert gen.main(["--check", "--output", str(page)]) == 1
    assert "run python scripts/gen_cli_docs.py" in capsys.readouterr().out
    assert gen.main(["--output", str(page)]) == 0
    assert gen.main(["--check", "--output", str(page)]) == 0
    assert page.read_text("utf-8") == gen.render(cli)


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(
    "page",
    sorted(
        str(p.relative_to(REPO))
        for p in [REPO / "README.md", REPO / "CHANGELOG.md", *REPO.glob("docs/**/*.md")]
        if p.exists()
    ),
)
def test_local_links_lead_to_files(page: str) -> None:
    path = REPO / page
    text = path.read_text(encoding="utf-8")
    broken = [
        target
        for target in LINK.findall(text)
        if "://" not in target
        and not target.startswith("mailto:")
        and not (path.parent / target).exists()
    ]
    assert not broken, f"{page} links to missing files: {broken}"


def test_readme_keeps_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    first = 'pip install -e . && newssearch index && newssearch query "Putins Bündnis mit China"'
    second = "pip install -e '.[test]' && pytest"
    assert first in readme
    assert second in readme and second in ci
    assert "python -m venv .venv" in readme and "Python ≥ 3.11" in readme


HISTORY = re.compile(
    r"\bissue \d|\bstop \d|valgrind|\d\s?(→|->)\s?\d|docs/s\b|records/s\b|before:", re.IGNORECASE
)


def test_readme_carries_no_benchmark_history() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    found = [f"README.md:{n}: {line}" for n, line in enumerate(lines, 1) if HISTORY.search(line)]
    assert not found, "history and timings belong in docs/ and CHANGELOG.md:\n" + "\n".join(found)
