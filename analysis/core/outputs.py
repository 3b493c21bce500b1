"""Files the user names (``--out``, ``--tax``): checked all together before any is written,
then written atomically.

Rules (issue 13):

- only regular files are written: a symlink is followed and its *target* replaced (the link
  stays a link); a device, FIFO, socket or folder is refused with one line, so
  ``--out /dev/full`` never replaces a device node with a file;
- the same file named twice (``--out x.csv --tax x.csv``, or two names of one file) is refused;
- :func:`check_outputs` runs before the work, so when any output is invalid nothing is written.

The atomic write itself (temp file beside the target, fsync, rename) is :func:`atomic_write_bytes`,
which the cache (:mod:`analysis.market.store`) uses too.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from analysis.core.errors import InputError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file beside it, fsync, then rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes 0600 files; keep the old file's mode, else the usual 0644.
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_output(flag: str, path: str | os.PathLike[str], example: str = "out.csv") -> Path:
    """The file to write for ``flag`` (symlinks followed), or :class:`InputError` naming ``flag``.

    Refused: an empty name, a name ending in ``/``, an existing folder, device, FIFO or socket,
    and a path whose folder is a file or cannot be written.
    """
    text = os.fspath(path)
    if not str(text).strip():
        raise InputError(f"{flag}: empty file name; give a file such as {example}")
    if str(text).endswith(("/", os.sep)):
        raise InputError(f"{flag}: {text!r} names a folder; give a file such as {text.rstrip('/' + os.sep)}/{example}")
    target = Path(os.path.realpath(text))
    try:
        mode = target.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None   # a missing file, or a folder in its path that is a file (reported below)
    except OSError as exc:
        raise InputError(f"{flag}: cannot use {text!r} ({exc.strerror}); give another file") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(f"{flag}: {text!r} is {_kind(mode)}; give a regular file such as {example}")
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{flag}: {str(folder)!r} in {text!r} is a file, not a folder; give another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{flag}: cannot write in {str(folder)!r} (permission denied); give another path")
    return target


def check_outputs(outputs: dict[str, str | os.PathLike[str] | None], examples: dict[str, str] | None = None,
                  ) -> dict[str, Path | None]:
    """Check every output of a command at once (``{flag: path or None}``) before any is written.

    Returns ``{flag: file to write or None}``; raises :class:`InputError` for the first bad one
    and when two flags name the same file.
    """
    examples = examples or {}
    checked: dict[str, Path | None] = {}
    owner: dict[Path, str] = {}
    for flag, path in outputs.items():
        if path is None:
            checked[flag] = None
            continue
        target = check_output(flag, path, examples.get(flag, "out.csv"))
        if target in owner:
            raise InputError(f"{owner[target]} and {flag} name the same file ({os.fspath(path)}); "
                             "give each output its own file")
        owner[target] = flag
        checked[flag] = target
    return checked


def write_output(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Atomically write a checked output (text as UTF-8); see :func:`check_outputs`."""
    return atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
