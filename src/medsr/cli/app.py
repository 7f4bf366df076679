"""The typer application every command module adds itself to.

The CLI is thin: each command parses its options, calls the library, and prints. Errors that a
user can fix are :class:`medsr.errors.MedsrError`; :func:`medsr.cli.main` prints them as one line
and exits with code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import typer
from rich.console import Console

from medsr.cli.flags import FlagHelpGroup

app = typer.Typer(
    name="medsr",
    cls=FlagHelpGroup,  # boolean options print as flags in --help, not "<bool>"
    help=(
        "Super-resolution of medical images (NIfTI, DICOM, NRRD/MHA, PNG/TIFF).\n\n"
        "Most users want:  medsr upscale scan.nii.gz -o out.nii.gz --spacing 1\n\n"
        "Methods follow Li, Sixou & Peyrin, 'A review of the deep learning methods for medical "
        "images super resolution problems', IRBM 2021."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

console = Console(soft_wrap=True)  # never hard-wrap paths or messages (logs, pipes)
err_console = Console(stderr=True, soft_wrap=True)


def _version_callback(value: bool) -> None:
    if value:
        from medsr import __version__

        console.print(f"medsr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool | None = typer.Option(
        None,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """medsr command line."""
