"""The one error type for user mistakes.

Anything a user can fix (a missing file, an impossible factor, an ambiguous DICOM folder) raises
:class:`MedsrError` with a message that says what is wrong and what to do. The CLI prints it as one
line on stderr and exits with code 2; library users catch it like any exception.
"""


class MedsrError(Exception):
    """A user-facing error: the message is one line, states the problem and the remedy."""

    exit_code: int = 2


class OptionError(MedsrError):
    """A user error about named options, written once for the library and the CLI.

    The message is a template whose fields are option names by parameter name:
    ``OptionError("{tile} must be >= 1, got 0")``. The library shows ``tile must be >= 1, got 0``
    (it never quotes a command-line flag); :func:`medsr.cli.main` shows the flag,
    ``--tile must be >= 1, got 0`` (:meth:`as_flag`).
    """

    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__(self._render(flags=False))

    def as_flag(self) -> str:
        """The message with each option written as its command-line flag."""
        return self._render(flags=True)

    def _render(self, *, flags: bool) -> str:
        try:
            return self.template.format_map(_Names(flags=flags))
        except (ValueError, IndexError, AttributeError):  # braces in an interpolated user value
            return self.template


class _Names(dict):
    def __init__(self, *, flags: bool) -> None:
        super().__init__()
        self.flags = flags

    def __missing__(self, key: str) -> str:
        return f"--{key.replace('_', '-')}" if self.flags else key
