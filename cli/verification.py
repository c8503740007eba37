"""The verification ladder and eligibility decisions from the command line:
`dualimpact activities claim / claims / approve-claim / verify / lapse / decide / trust`.

Each change is made *as a named user* (``--as`` their sign-in email): the same rules as
over HTTP decide whether they may (:mod:`accounts.permissions`), and the activity's history
names them."""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.markup import escape
from rich.table import Table

from accounts import verification
from accounts.users import user_by_email
from accounts.verification import TrustState
from cli.common import AS_USER, console, open_engine, print_json
from registry.categories import SLUGS

AS_JSON = typer.Option(False, "--json", help="The new state as JSON on stdout.")


def claim(
    activity_id: int = typer.Argument(..., help="Activity id."),
    email: str = AS_USER,
    note: str | None = typer.Option(None, help="What shows the record is yours (for the admin)."),
    as_json: bool = AS_JSON,
) -> None:
    """Claim a listed (or lapsed) activity for your provider organisation: at once when
    its charity or company number matches the record's provider's, else it waits for an
    admin (`activities approve-claim`)."""
    with open_engine() as engine, engine.begin() as conn:
        outcome = verification.claim(
            conn, user_by_email(conn, email), activity_id, evidence_note=note
        )
    if outcome.pending:
        _show(outcome.state, as_json, "claim recorded: it waits for an admin's approval")
    else:
        _show(outcome.state, as_json, f"claimed ({outcome.proof})")


def claims(as_json: bool = AS_JSON, email: str = AS_USER) -> None:
    """List the claims waiting for an admin's approval, oldest first (admins)."""
    with open_engine() as engine, engine.connect() as conn:
        found = verification.waiting_claims(conn, user_by_email(conn, email))
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No claims wait for approval.")
        return
    table = Table("activity", "name", "territory", "listed provider", "claimed by", "asked", "note")
    for waiting in found:
        cells = (
            str(waiting["activity_id"]),
            waiting["activity"],
            waiting["territory_code"],
            waiting["provider_name"] or "",
            f"{waiting['organisation']} ({waiting['organisation_id']}), {waiting['requested_by']}",
            f"{waiting['requested_at']:%Y-%m-%d}",
            waiting["note"] or "",
        )
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)


def approve_claim(
    activity_id: int = typer.Argument(..., help="Activity id."),
    provider_id: int = typer.Option(..., help="Organisation id whose pending claim to approve."),
    email: str = AS_USER,
    as_json: bool = AS_JSON,
) -> None:
    """Approve an organisation's pending claim to an activity (admins)."""
    with open_engine() as engine, engine.begin() as conn:
        found = verification.approve_claim(
            conn, user_by_email(conn, email), activity_id, provider_id
        )
    _show(found, as_json, "claim approved")


def verify(
    activity_id: int = typer.Argument(..., help="Activity id."),
    level: int = typer.Option(
        ...,
        min=1,
        max=5,
        help="Evidence level on the Nesta Standards of Evidence: 1 (a clear account of what "
        "it does and why) to 5 (manuals and systems for consistent replication).",
    ),
    link: list[str] = typer.Option([], help="Link to the evidence (https://...); repeatable."),
    note: str | None = typer.Option(None, help="What was checked."),
    email: str = AS_USER,
    as_json: bool = AS_JSON,
) -> None:
    """Verify a claimed (or lapsed) activity: its territory's community team, or admins."""
    with open_engine() as engine, engine.begin() as conn:
        found = verification.verify(
            conn, user_by_email(conn, email), activity_id, level, link, note
        )
    _show(found, as_json, f"verified at evidence level {level}")


def lapse(
    activity_id: int = typer.Argument(..., help="Activity id."),
    reason: str = typer.Option(..., help="Why it is no longer known to run."),
    email: str = AS_USER,
    as_json: bool = AS_JSON,
) -> None:
    """Mark an activity lapsed: its territory's community team, or admins."""
    with open_engine() as engine, engine.begin() as conn:
        found = verification.mark_lapsed(conn, user_by_email(conn, email), activity_id, reason)
    _show(found, as_json, "marked lapsed")


def decide(
    activity_id: int = typer.Argument(..., help="Activity id."),
    eligibility: str = typer.Option(..., help="eligible, ineligible or needs_review."),
    category: list[str] = typer.Option(
        [], help=f"A dual-impact category (repeatable; eligible only): {', '.join(SLUGS)}."
    ),
    reason: str = typer.Option(..., help="Why (shown as the eligibility's explanation)."),
    email: str = AS_USER,
    as_json: bool = AS_JSON,
) -> None:
    """Decide whether an activity is a dual-impact activity (its territory's community
    team, or admins); the automatic rules never replace the decision."""
    with open_engine() as engine, engine.begin() as conn:
        found = verification.decide_eligibility(
            conn, user_by_email(conn, email), activity_id, eligibility, category, reason
        )
    _show(found, as_json, f"decided {eligibility}")


def _show(found: TrustState, as_json: bool, done: str) -> None:
    """The state as JSON, or in words after what was ``done``."""
    if as_json:
        print_json(found)
        return
    categories = ", ".join(found["eligibility_categories"])
    level = found["evidence_level"]
    pending = ", ".join(c["organisation"] for c in found["pending_claims"])
    lines = [
        f"Activity {found['activity_id']} ({found['name']})" + (f": {done}" if done else ""),
        f"  verification: {found['verification']}"
        + (f" (evidence level {level})" if level else "")
        + f"; provider: {found['provider_name'] or 'none'}",
        f"  last heard of: {found['fresh_on'] or 'never'}"
        + ("" if found["fresh"] else " (not within the lapse period)"),
        f"  eligibility: {found['eligibility']}"
        + (f" ({categories})" if categories else "")
        + f", by the {found['eligibility_source']}: {found['eligibility_reason'] or ''}",
        f"  trusted: {'yes' if found['trusted'] else 'no'}",
    ]
    if pending:
        lines.append(f"  claims waiting for an admin: {pending}")
    console.print("\n".join(lines), highlight=False, markup=False)


def add_commands(group: typer.Typer) -> None:
    """Add this module's commands to the `dualimpact activities` group."""
    commands: dict[str, Callable[..., None]] = {
        "claim": claim,
        "claims": claims,
        "approve-claim": approve_claim,
        "verify": verify,
        "lapse": lapse,
        "decide": decide,
    }
    for name, command in commands.items():
        group.command(name)(command)
