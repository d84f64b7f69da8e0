"""The one exception type that the CLI turns into a one-line error and exit code 2."""


class CadreError(Exception):
    """A user-facing error: bad input, a missing file, an unknown name.

    The message is one line, and names the file and line where that applies.
    """

    exit_code = 2


class GateFailed(CadreError):
    """A quality gate was missed; the report is still written."""

    exit_code = 3
