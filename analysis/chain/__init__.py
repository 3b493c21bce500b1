"""Layer 5, on-chain truth for COCOON: the contracts' cell layouts (:mod:`.contracts`), payouts
(:mod:`.payouts`), cached readings of parameters and payouts (:mod:`.readings`) and the
reconciliation of a ledger with what the chain paid (:mod:`.reconcile`)."""
