"""``--currency CODE`` for the commands that print money: the scenario in that currency and
every printed amount, key and CSV column named in it (:mod:`analysis.econ.currency`)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO


def add_currency_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--currency CODE`` (default: the scenario's ``[finance] currency``, else USD)."""
    p.add_argument("--currency", default=None, metavar="CODE",
                   help="fiat currency of costs and outputs, any ECB reference currency, e.g. EUR (default: the "
                        "scenario's [finance] currency, else USD); costs converted at the start day's ECB rate")


def checked_currency(currency: str | None) -> str:
    """``--currency`` checked (USD when not given)."""
    from analysis.market.currencies import check_currency

    return check_currency(currency or "USD")


class _Relabelled:
    """A text stream that writes through :func:`analysis.econ.currency.relabel_text`."""

    def __init__(self, stream: TextIO, currency: str) -> None:
        self._stream, self._currency = stream, currency

    def write(self, text: str) -> int:
        from analysis.econ.currency import relabel_text

        self._stream.write(relabel_text(text, self._currency))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def printed_in(currency: str) -> Iterator[None]:
    """Within the block, stdout names ``currency`` wherever the engine says USD (nothing changes for USD)."""
    if currency == "USD":
        yield
        return
    with contextlib.redirect_stdout(_Relabelled(sys.stdout, currency)):
        yield
