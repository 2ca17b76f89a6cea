"""The `casewright` command line. Each command group lives in casewright/commands/<name>.py
and exposes `register(app)`; this module only assembles them and turns errors into one line."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from casewright.commands import get_settings
from connectors.errors import CasewrightError

app = typer.Typer(
    name="casewright",
    help="Writes UAT cases from Jira epics, stories and Confluence rules, the way your testers would.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

# Command modules, in the order `casewright --help` lists them. Add one line per new module.
COMMAND_MODULES = [
    "generate",
    "runs",
    "review",
    "service",
    "knowledge",
    "jira",
    "finetune",
    "llm",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"casewright.commands.{_name}").register(app)


def _debug() -> bool:
    try:
        return get_settings().debug
    except CasewrightError:  # the bad setting is the error being reported
        return False


def main() -> None:
    try:
        app()
    except CasewrightError as exc:
        if _debug():
            raise
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
