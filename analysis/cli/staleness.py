"""One stderr warning when a command uses a latest close more than a week old (issue 13)."""

from __future__ import annotations

import sys


def warn_if_stale(asset: str = "ton") -> str | None:
    """Print ``warning: ...`` on stderr when the latest ``asset`` close is stale; returns the note."""
    from analysis.market.latest import last_close_day, stale_note  # csv, not pandas (issue 20)

    note = stale_note(last_close_day(asset), asset)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    return note
