"""One stderr warning when a command uses a latest close more than a week old (issue 13)."""

from __future__ import annotations

import sys


def warn_if_stale(asset: str = "ton") -> str | None:
    """Print ``warning: ...`` on stderr when the latest ``asset`` close is stale; returns the note."""
    from analysis.market.prices import daily_closes, stale_close_note

    note = stale_close_note(daily_closes(asset), asset)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    return note
