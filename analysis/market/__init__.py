"""Layer 2, market data: the cache (locks, atomic writes), canonical daily prices, funding, GPU
rental rates and series transforms. Imports only :mod:`analysis.sources` and :mod:`analysis.core`."""
