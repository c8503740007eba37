"""The SPO state machine: the one place that says which changes are legal, and who may
make them. The database enforces the same pairs with a trigger (migration 0004)."""

from __future__ import annotations

DRAFT, SUBMITTED, SCORED, AWARDED = "draft", "submitted", "scored", "awarded"
DELIVERING, COMPLETED = "delivering", "completed"
WITHDRAWN, NOT_AWARDED, LAPSED = "withdrawn", "not_awarded", "lapsed"
STATES = (DRAFT, SUBMITTED, SCORED, AWARDED, DELIVERING, COMPLETED, WITHDRAWN, NOT_AWARDED, LAPSED)
# Public from award on; never before (and never for losing bids).
PUBLIC = (AWARDED, DELIVERING, COMPLETED)
# Bids still in the running for their tender.
LIVE = (DRAFT, SUBMITTED, SCORED)

SUPPLIER, BUYER_LEAD, BUYER_EVALUATOR = "supplier", "buyer_lead", "buyer_evaluator"

# (from, to) → roles allowed to make the change.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (DRAFT, SUBMITTED): frozenset({SUPPLIER}),
    (DRAFT, WITHDRAWN): frozenset({SUPPLIER}),
    (SUBMITTED, WITHDRAWN): frozenset({SUPPLIER}),
    (SUBMITTED, SCORED): frozenset({BUYER_LEAD, BUYER_EVALUATOR}),
    (SCORED, AWARDED): frozenset({BUYER_LEAD}),
    (SUBMITTED, NOT_AWARDED): frozenset({BUYER_LEAD}),
    (SCORED, NOT_AWARDED): frozenset({BUYER_LEAD}),
    (DRAFT, LAPSED): frozenset({BUYER_LEAD}),
    (SUBMITTED, LAPSED): frozenset({BUYER_LEAD}),
    (SCORED, LAPSED): frozenset({BUYER_LEAD}),
    (AWARDED, DELIVERING): frozenset({SUPPLIER, BUYER_LEAD}),
    (DELIVERING, COMPLETED): frozenset({BUYER_LEAD}),
}


def allowed_next(state: str) -> list[str]:
    """States reachable from ``state`` in one step."""
    return [to for (frm, to) in TRANSITIONS if frm == state]
