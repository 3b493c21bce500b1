"""Layer 4, simulation: price paths (historical, rolling, bootstrap, GBM, GARCH), treasury and
hedging policies, options, risk metrics and the compiled kernels that scan them."""
