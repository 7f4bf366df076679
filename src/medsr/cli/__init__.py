"""The ``medsr`` command. Each sub-command lives in its own module of this package."""

from __future__ import annotations

import sys

from medsr.cli.app import app, err_console
from medsr.errors import MedsrError

# Importing a command module registers its commands on ``app``.
from medsr.cli import info, degrade, metrics, upscale, models, train, export, demo  # noqa: E402,F401

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn user errors into one line on stderr and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # standalone_mode=False hands typer.Exit(code) back as a return value
        code = app(args=args, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except SystemExit:
        raise
    except MedsrError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # an unexpected failure: still one line unless --debug
        if debug:
            raise
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        err_console.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc} (run again with --debug "
            "for the traceback, and please report it)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
