"""Report section: rates (not implemented yet)."""

from __future__ import annotations

from analysis.report import ReportContext, Section


def build(ctx: ReportContext) -> Section | None:
    """Nothing to show yet."""
    return None
