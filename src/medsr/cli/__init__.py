"""The ``medsr`` command. Each sub-command lives in its own module of this package."""

from __future__ import annotations

import errno
import signal
import sys

from rich.markup import escape

from medsr.cli.app import app, err_console
from medsr.cli.notes import routed_notes
from medsr.errors import MedsrError, OptionError
from medsr.io.atomic import Interrupted, unwind_on_signals

# Importing a command module registers its commands on ``app``, in this order (the order of
# `medsr --help`): kept out of import sorting.
# isort: off
from medsr.cli import info, degrade, metrics, upscale, models, train, export, demo  # noqa: F401
from medsr.cli import prune  # noqa: F401
from medsr.cli import benchmark  # noqa: F401
from medsr.cli import benchmark_networks  # noqa: F401
from medsr.cli import policy  # noqa: F401
from medsr.cli import synthetic  # noqa: F401
from medsr.cli import recipes  # noqa: F401
# isort: on

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn user errors into one line on stderr and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere (before or after the command name); only main() uses it
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        # standalone_mode=False hands typer.Exit(code) back as a return value; SIGTERM unwinds
        # like Ctrl-C, so that no temporary or half-written output is left (medsr.io.atomic);
        # library warnings become one-line notes (stderr keeps only the error line)
        with unwind_on_signals() as received, routed_notes(json_output="--json" in args):
            code = app(args=args, standalone_mode=False)
        if received:  # typer turned the Interrupted exception into exit code 130
            raise Interrupted(received[0])
        if isinstance(code, int) and code:
            sys.exit(code)
    except SystemExit:
        raise
    except MedsrError as exc:
        if debug:
            raise
        message = exc.as_flag() if isinstance(exc, OptionError) else str(exc)
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        err_console.print("terminated" if signum == signal.SIGTERM else "interrupted")
        sys.exit(128 + int(signum))
    except MemoryError as exc:
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] out of memory ({escape(str(exc) or 'MemoryError')}); "
            "ask for a smaller output "
            "(smaller --factors, larger --spacing), a smaller --tile or --max-memory, "
            "or use a machine with more memory",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
    except Exception as exc:  # an unexpected failure: still one line unless --debug
        usage = _usage_error(exc)  # a mistyped command line: no traceback even with --debug
        if usage is not None:
            message, code = usage
            err_console.print(
                f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
            )
            sys.exit(code)
        if debug:
            raise
        if type(exc).__name__ == "Abort":  # click/typer Abort (e.g. Ctrl-C at a prompt)
            sys.exit(1)
        if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
            err_console.print(
                f"[bold red]error:[/] a name in {escape(str(exc.filename))} is too long for the "
                "file system (at most 255 bytes per file or folder name); choose a shorter one",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)
        err_console.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(str(exc))} "
            "(run again with --debug for the traceback, and please report it)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


def _usage_error(exc: Exception) -> tuple[str, int] | None:
    """``(one-line message, exit code)`` for a command-line usage error, None for anything else.

    Duck-typed on click's ``ClickException`` (``format_message()`` and ``exit_code``): typer >= 0.2x
    vendors click as ``typer._click``, older typer uses ``click`` itself, so neither can be imported
    by name reliably. ``medsr`` alone (no_args_is_help) shows the help as click would.
    """
    format_message = getattr(exc, "format_message", None)
    code = getattr(exc, "exit_code", None)
    if not callable(format_message) or not isinstance(code, int):
        return None
    if type(exc).__name__ == "NoArgsIsHelpError":
        # typer's rich help is printed to stdout when the error is built; plain click keeps it
        # as the message
        text = str(format_message()).strip()
        if text:
            print(text)
        sys.exit(code)
    message = " ".join(str(format_message()).split())  # one line: click may embed newlines
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and getattr(ctx, "command_path", None):
        message += f" (see '{ctx.command_path} --help')"
    return message, code
