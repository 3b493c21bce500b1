"""Layer 3, economics: the scenario schema and its validation, network payout rules (COCOON,
Render), costs, the day-by-day ledger, break-even/NPV, the comparison with renting, tax lots."""
