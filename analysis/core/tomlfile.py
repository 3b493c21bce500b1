"""Reading a user's TOML file (a scenario, a sweep grid) with one-line errors naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from analysis.core.errors import InputError


def read_toml(path: str | Path, *, flag: str, kind: str, examples: str) -> dict[str, Any]:
    """The parsed TOML at ``path``.

    Raises
    ------
    InputError
        The file is missing (the message names ``flag``, e.g. ``--scenario``, and where
        ``examples`` are), is a folder, is not UTF-8, or is not valid TOML (with the parser's
        line and column).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{flag}: file {str(path)!r} not found; pass the path of a {kind} TOML ({examples})") from None
    except IsADirectoryError:
        raise InputError(f"{flag}: {str(path)!r} is a folder; pass a {kind} TOML file") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         f"save the {kind} as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML: {exc}; fix the file") from None
