"""Units and calendar conventions shared by every layer."""

from __future__ import annotations

#: Crypto trades every day: annual figures use 365-day years (rates, volatilities, NPV).
DAYS_PER_YEAR = 365
#: nanoTON per TON: the protocol counts integers of nanoTON.
NANOTON_PER_TON = 1_000_000_000
HOURS_PER_DAY = 24
