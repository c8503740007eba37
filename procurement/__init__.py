"""Tenders and Social Purchase Orders: the lifecycle, the capacity ledger, the audit trail,
confidentiality before award, and the public register after.

Modules, one job each:

* :mod:`~procurement.tenders`: opening and reading tenders;
* :mod:`~procurement.spos`: the SPO commands (draft, submit, score, award, vary, ...);
* :mod:`~procurement.spo_queries`: reading SPOs and their commitments;
* :mod:`~procurement.delivery`: delivery claims, the provider's answer, sign-off;
* :mod:`~procurement.lifecycle`: the steps those commands share (finding and locking the
  SPO, role checks, state changes);
* :mod:`~procurement.states`: the state machine's vocabulary and legal moves;
* :mod:`~procurement.visibility`: who may see an SPO (one rule for every read);
* :mod:`~procurement.ledger`: an activity's gap promised only once;
* :mod:`~procurement.allowances`: SPOs commit only to eligible, current activities, or to
  those the tender's buyer allows (with a reason);
* :mod:`~procurement.audit`: the hash-chained audit trail;
* :mod:`~procurement.anchor`: keyed checkpoints of each chain's head (HMAC, key outside
  the database);
* :mod:`~procurement.activity_changes`: changes to an activity's funding gap and
  safeguarding, checked against the ledger and audited;
* :mod:`~procurement.backing`: how many visible SPOs back each activity;
* :mod:`~procurement.reporting`: the public register, KPIs and OCDS;
* :mod:`~procurement.records`: the typed records all of these return;
* :mod:`~procurement.tables`: the procurement tables.

Import from the modules (``from procurement.spos import submit``); nothing outside a module
uses its ``_private`` names.
"""

__all__ = [
    "activity_changes",
    "allowances",
    "anchor",
    "audit",
    "backing",
    "delivery",
    "ledger",
    "lifecycle",
    "records",
    "reporting",
    "spo_queries",
    "spos",
    "states",
    "tables",
    "tenders",
    "visibility",
]
