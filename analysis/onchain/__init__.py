"""COCOON on-chain data: the contracts' cell layouts and the classification of payouts.

Pure functions over :mod:`pytoniq_core` cells and tidy frames; the network calls live in
:mod:`analysis.sources.toncenter` and :mod:`analysis.sources.tonapi`, and
:mod:`analysis.chain` puts the two together.
"""
