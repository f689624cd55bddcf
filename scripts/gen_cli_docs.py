"""Write docs/cli.md, the CLI reference, from click's help of every ``newssearch`` command.

Run ``python scripts/gen_cli_docs.py`` after changing a command, option or help text;
``--check`` only compares (exit status 1 when docs/cli.md is out of date), as
tests/test_docs.py does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "cli.md"
# A fixed width, so the page is the same whatever terminal runs the script.
WIDTH = 100
PROG = "newssearch"

HEADER = """\
# CLI reference

Generated from `newssearch --help` and every command's `--help` by `scripts/gen_cli_docs.py`;
do not edit by hand. After changing a command, run `python scripts/gen_cli_docs.py`
(`tests/test_docs.py` fails while this page differs from the help).
"""


def _load_cli() -> click.Group:
    """The ``newssearch`` group of this checkout (its src/ first, not another installed copy)."""
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    from newssearch.cli import cli

    return cli


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    """The context ``newssearch ... NAME --help`` runs in (the command's own settings kept)."""
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    return click.Context(command, info_name=name, parent=parent, **settings)


def _commands(
    command: click.Command, ctx: click.Context
) -> Iterator[tuple[click.Command, click.Context]]:
    """This command and, for a group, each visible subcommand in name order, depth first."""
    yield command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if sub.hidden:
                continue
            yield from _commands(sub, _context(sub, name, ctx))


def render(cli: click.Group | None = None) -> str:
    """The text of docs/cli.md: a list of commands, then each command's help as click prints it."""
    group = cli if cli is not None else _load_cli()
    entries = list(_commands(group, _context(group, PROG, None)))
    toc = []
    sections = []
    for command, ctx in entries:
        path = ctx.command_path
        anchor = path.replace(" ", "-")
        summary = command.get_short_help_str(limit=WIDTH)
        toc.append(f"- [`{path}`](#{anchor})" + (f": {summary}" if summary else ""))
        help_text = command.get_help(ctx).rstrip()
        sections.append(f"## {path}\n\n```text\n{help_text}\n```\n")
    return HEADER + "\n" + "\n".join(toc) + "\n\n" + "\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, compare) the CLI reference; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: docs/cli.md")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the file is out of date"
    )
    args = parser.parse_args(argv)
    text = render()
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date: run python scripts/gen_cli_docs.py")
            return 1
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(f"{args.output} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
