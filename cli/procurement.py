"""Commands for people and the SPO lifecycle: add users, verify the audit trail, let a
tender's SPOs commit to an activity the register does not trust, serve."""

from __future__ import annotations

import os

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine, text

from accounts.users import create_organisation, create_user, user_by_email
from cli.common import AS_USER, console, open_engine, print_json
from geo.errors import InvalidInputError
from geo.settings import get_settings, kept_secret
from procurement import allowances, audit
from procurement.visibility import Viewer

users_app = typer.Typer(
    help="Add organisations' people (the first admin, too).", no_args_is_help=True
)
audit_app = typer.Typer(help="Check the SPO audit trail.", no_args_is_help=True)
tender_app = typer.Typer(
    help="Tenders: let their SPOs commit to activities the register does not trust.",
    no_args_is_help=True,
)


@users_app.command("create")
def users_create(
    email: str = typer.Option(..., help="Sign-in email."),
    role: str = typer.Option(
        "admin",
        help="buyer_lead, buyer_evaluator, supplier, provider, community, analyst or admin.",
    ),
    organisation: str = typer.Option(
        "Dual Impact platform", help="Organisation name (created if new)."
    ),
    kind: str = typer.Option(
        "operator",
        help="Organisation kind: operator, buyer, supplier, provider or community (a "
        "community team that verifies activities in its territories).",
    ),
    buyer_kind: str | None = typer.Option(
        None, help="For buyers: police, council, nhs, fire or criminal_justice."
    ),
    territory: list[str] = typer.Option(
        [],
        help="For buyers and community teams: a territory code it buys for or works in "
        "(repeat for more).",
    ),
    charity_number: str | None = typer.Option(
        None, help="The organisation's charity number (lets a provider claim its records)."
    ),
    company_number: str | None = typer.Option(
        None, help="The organisation's Companies House number."
    ),
    name: str = typer.Option("", help="The person's name (default: the email)."),
    password_env: str = typer.Option(
        "DUALIMPACT_PASSWORD",
        help="Environment variable holding the password (else you are asked for it).",
    ),
) -> None:
    """Add a user (by default the platform's first admin) to an organisation.

    The password is read from $DUALIMPACT_PASSWORD or asked for without echo; it is stored
    only as an Argon2 hash.
    """
    password = os.environ.get(password_env) or typer.prompt(
        "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
    )
    with open_engine() as engine, engine.begin() as conn:
        organisation_id = create_organisation(
            conn,
            kind,
            organisation,
            buyer_kind=buyer_kind,
            territories=territory,
            charity_number=charity_number,
            company_number=company_number,
        )
        user_id = create_user(conn, email, name, password, organisation_id, role)
    console.print(f"User {user_id} ({email}, {role}) added to {organisation} ({kind}).")


# The demo's people, one per role, in organisations labelled as fictional (they are not
# real bodies): email → (role, organisation, kind, buyer kind, territories).
DEMO_CAST = {
    "lead@demo.invalid": ("buyer_lead", "Demo Police Force (fictional)", "buyer", "police"),
    "evaluator@demo.invalid": (
        "buyer_evaluator",
        "Demo Police Force (fictional)",
        "buyer",
        "police",
    ),
    "supplier@demo.invalid": ("supplier", "Demo Facilities Ltd (fictional)", "supplier", None),
    "provider@demo.invalid": ("provider", "Demo Youth Trust (fictional)", "provider", None),
    "community@demo.invalid": (
        "community",
        "Demo Community Foundation (fictional)",
        "community",
        None,
    ),
    "admin@demo.invalid": ("admin", "Dual Impact platform", "operator", None),
}


@users_app.command("demo")
def users_demo(
    territory: str = typer.Option(
        "E23000029", help="The territory the demo buyer buys for and the team works in."
    ),
) -> None:
    """Add the demo's people (one per role, in organisations labelled fictional) with one
    password, made once and kept in .dualimpact/demo_password; print how to sign in.
    Running it again adds nobody twice."""
    password = kept_secret(get_settings().local_db_dir.parent / "demo_password")
    with open_engine() as engine, engine.begin() as conn:
        for email, (role, organisation, kind, buyer_kind) in DEMO_CAST.items():
            if conn.execute(text("SELECT 1 FROM app_user WHERE email = :e"), {"e": email}).first():
                continue
            organisation_id = create_organisation(
                conn,
                kind,
                organisation,
                buyer_kind=buyer_kind,
                territories=[territory] if kind in ("buyer", "community") else [],
            )
            create_user(conn, email, email.split("@")[0].title(), password, organisation_id, role)
    console.print(
        "Demo sign-in (fictional organisations) at http://localhost:8000/sign-in as "
        + ", ".join(DEMO_CAST)
        + f"; password: {password}",
        highlight=False,
    )


@audit_app.command("verify")
def audit_verify(
    spo: int | None = typer.Option(None, help="Check one SPO (default: every SPO)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recompute every SPO's hash chain and check it against its keyed checkpoints: any
    event changed, removed or reordered, a chain cut short, deleted or rewritten, a
    checkpoint missing or forged is reported, and the command fails (exit status 1).

    Checkpoints are verified with this installation's audit key ($DUALIMPACT_AUDIT_KEY or
    .dualimpact/audit_key)."""
    with open_engine() as engine:
        report_audit(engine, spo, as_json=as_json)


def report_audit(engine: Engine, spo: int | None = None, *, as_json: bool = False) -> None:
    """Verify the audit trail (of one SPO, or all), print what was found, and fail (exit
    status 1) when anything was."""
    with engine.connect() as conn:
        problems = audit.verify(conn, spo)
    if as_json:
        print_json({"verified": not problems, "problems": problems})
    elif problems:
        for problem in problems:
            console.print(f"[red]✗[/red] {problem}", highlight=False)
    else:
        console.print(
            "[green]✓[/green] the audit trail verifies: no event was changed, every chain"
            " matches its checkpoints."
        )
    if problems:
        raise typer.Exit(1)


@tender_app.command("allow")
def tender_allow(
    tender: int = typer.Argument(..., help="Tender id."),
    activity: int = typer.Argument(..., help="Activity id (ineligible, needing review or lapsed)."),
    reason: str = typer.Option(..., help="Why, for the record (a sentence at least)."),
    email: str = AS_USER,
    as_json: bool = typer.Option(False, "--json", help="Print the allowance as JSON."),
) -> None:
    """Let the SPOs bidding for a tender commit to an activity that is not eligible, or has
    lapsed: the tender's buyer lead, as an override with a reason. Allowances are never
    changed or removed."""
    with open_engine() as engine, engine.begin() as conn:
        allowed = allowances.allow(conn, user_by_email(conn, email), tender, activity, reason)
    if as_json:
        print_json(allowed)
    else:
        console.print(
            f"Tender {tender} allows activity {activity} ({allowed['activity']}, "
            f"{allowed['eligibility']}, {allowed['verification']}): {allowed['reason']}",
            highlight=False,
            markup=False,
        )


@tender_app.command("allowances")
def tender_allowances(
    tender: int = typer.Argument(..., help="Tender id."),
    email: str = AS_USER,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The activities a tender allows its SPOs to commit to though the register does not
    trust them (for its buyer, the suppliers bidding and admins)."""
    with open_engine() as engine, engine.connect() as conn:
        found = allowances.allowances(conn, Viewer.of(user_by_email(conn, email)), tender)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print(
            f"Tender {tender} has no allowances: its SPOs commit only to eligible, current "
            "activities."
        )
        return
    table = Table("activity", "name", "eligibility", "verification", "allowed by", "on", "reason")
    for row in found:  # people's text, shown as typed (never read as console markup)
        table.add_row(
            str(row["activity_id"]),
            Text(row["activity"]),
            row["eligibility"],
            row["verification"],
            Text(row["allowed_by"]),
            f"{row['at']:%d %b %Y}",
            Text(row["reason"]),
        )
    console.print(table)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port."),
    workers: int = typer.Option(1, min=1, max=32, help="Worker processes."),
    reload: bool = typer.Option(False, help="Restart on code changes (development)."),
) -> None:
    """Serve the web pages and the API (OpenAPI docs at /docs)."""
    import uvicorn

    if reload and workers > 1:
        raise InvalidInputError("--reload works with one worker only")
    console.print(f"Serving on http://{host}:{port} (API docs at /docs). Ctrl-C stops it.")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="warning",
    )
