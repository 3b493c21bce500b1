"""Reading a file the user named (a scenario or sweep grid TOML, a benchmark result) with one-line
errors naming the file and the fix; regular files only, size capped."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from analysis.core.errors import InputError


def read_user_text(path: str | Path, *, flag: str, what: str, examples: str, max_bytes: int,
                   size_hint: str) -> str:
    """The UTF-8 text of a file the user named (a byte-order mark is accepted and dropped).

    ``what`` names the expected file in messages (e.g. ``"scenario TOML"``, ``"benchmark result JSON"``).

    Raises
    ------
    InputError
        The file is missing (the message names ``flag``, e.g. ``--scenario``, and ``examples``:
        where to find some), is a folder or not a regular file (``/dev/zero`` would be read until
        memory runs out, a FIFO would wait for a writer forever), cannot be read, is larger than
        ``max_bytes`` (with ``size_hint``) or is not UTF-8.
    """
    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            raise InputError(f"{flag}: {str(path)!r} is not a regular file; pass a {what} file")
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{flag}: file {str(path)!r} not found; pass the path of a {what} ({examples})") from None
    except IsADirectoryError:
        raise InputError(f"{flag}: {str(path)!r} is a folder; pass a {what} file") from None
    except OSError as exc:
        raise InputError(f"{flag}: cannot read {str(path)!r} ({exc.strerror}); pass a readable file") from None
    if len(raw) > max_bytes:
        raise InputError(f"{flag}: {path.name} is larger than {max_bytes // 1024} KB ({size_hint})")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         f"save the {what} as UTF-8") from None


def read_toml(path: str | Path, *, flag: str, kind: str, examples: str, max_bytes: int,
              size_hint: str) -> dict[str, Any]:
    """The parsed TOML at ``path`` (:func:`read_user_text`; a byte-order mark is accepted).

    Raises
    ------
    InputError
        Whatever :func:`read_user_text` refuses, or not valid TOML (with the parser's line and column).
    """
    text = read_user_text(path, flag=flag, what=f"{kind} TOML", examples=examples, max_bytes=max_bytes,
                          size_hint=f"a {kind} is a few lines of TOML; {size_hint}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{Path(path).name}: not valid TOML: {exc}; fix the file") from None
