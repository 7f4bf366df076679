"""The one error type for user mistakes.

Anything a user can fix (a missing file, an impossible factor, an ambiguous DICOM folder) raises
:class:`MedsrError` with a message that says what is wrong and what to do. The CLI prints it as one
line on stderr and exits with code 2; library users catch it like any exception.
"""


class MedsrError(Exception):
    """A user-facing error: the message is one line, states the problem and the remedy."""

    exit_code: int = 2
