"""The exception types the CLI turns into one-line messages and exit codes."""


class CocoonEconError(Exception):
    """Base class; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InputError(CocoonEconError, ValueError):
    """Bad user input (scenario field, CLI argument, date range, unknown GPU...).

    The message names the field and the fix, on one line. CLI exit code 2.
    """

    exit_code = 2


class FetchError(CocoonEconError):
    """A remote source failed (HTTP error, bad payload, rate limit). CLI exit code 1.

    The message carries the API's own error text where it gave one.
    """

    exit_code = 1


class DataError(CocoonEconError):
    """Stored or embedded data is missing or inconsistent (e.g. a price series with gaps)."""

    exit_code = 2
