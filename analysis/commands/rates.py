"""CLI commands for this area (not implemented yet)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add this area's subcommands (none yet)."""
