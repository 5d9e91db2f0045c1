"""The `minireactor` command: the lab, the demos and the grader from a terminal.

This file only builds the command. Each part of the project adds its own
subcommands: `lab/cli.py` (internet, fetch, serve, load, compare, crawl)
always, then each module listed in `PLUGINS` (the grader's, the tracer's,
the demos'), which exposes `add_subcommands(subparsers)`, imported only
when the parser is built, so the command works without it. Errors the
user can fix (a port in use, no server there, a bad option) print one line
and exit non-zero, never a traceback.

Read next: `lab/cli.py`, the lab's subcommands.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["PLUGINS", "build_parser", "main"]

PLUGINS = (
    "minireactor.grader.cli",
    "minireactor.trace_cli",
    "minireactor.demo.cli",
)
"""Modules that add subcommands with `add_subcommands(subparsers)` (if installed)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser: each part's subcommands (`PLUGINS`), the lab's first."""
    parser = _Parser(prog="minireactor", description="minireactor: the lab from a terminal.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    from .lab import cli as lab_cli  # here: the lab is heavy, and `--help` of a plugin is not

    lab_cli.add_subcommands(sub)  # the lab's are always there; plugins may be missing
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if exc.name != name:  # the plugin exists but is broken: say so, carry on
                print(f"minireactor: warning: {name} failed to load: {exc}", file=sys.stderr)
            continue
        module.add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 failed, 2 usage, 130 interrupted)."""
    from minireactor.errors import MiniReactorError
    from minireactor.lab.procs import LabError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except (LabError, MiniReactorError, OSError, ValueError) as exc:
        print(f"minireactor {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
