"""Tenders and Social Purchase Orders: the lifecycle, the capacity ledger, the audit trail,
confidentiality before award, and the public register after."""
