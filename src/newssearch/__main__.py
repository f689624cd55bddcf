"""``python -m newssearch``."""

from .cli import cli

cli(prog_name="newssearch")
