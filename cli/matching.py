"""Commands of the matching engine: recommend, weights, allocate, impact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from boundaries import repository
from boundaries.gazetteer import gazetteer_for
from cli.common import console, open_engine, print_json
from geo.crs import to_bng
from geo.errors import DataFileError, InvalidInputError
from geo.geocode import Geocoder
from geo.jsonable import records as frame_records
from geo.settings import get_settings
from maps.render import eligibility_words, location_words, trust_label, verification_words
from matching import near, queries
from matching.allocate import compare, fundable
from matching.impact import ActivityFacts, estimate
from matching.need import NeedIndex, served_need
from matching.profiles import COMPONENTS, STANDARD, WeightProfile
from matching.valueset import load_value_set, open_value_set
from registry import privacy
from registry import queries as registry_queries
from registry.readers import read_table
from registry.themes import VOCABULARY

weights_app = typer.Typer(help="Show or set a territory's score weights.", no_args_is_help=True)


def recommend(
    postcode: str | None = typer.Option(None, help="Recommend near this postcode."),
    supplier: int | None = typer.Option(None, help="Recommend near this supplier's sites."),
    territory: str | None = typer.Option(
        None, help="The SPO's territory (default: where the postcode or sites are)."
    ),
    outcomes: str = typer.Option(
        "", help=f"Outcomes the buyer asks for, comma-separated ({', '.join(VOCABULARY[:4])}...)."
    ),
    top: int = typer.Option(10, min=1, max=200, help="How many to list."),
    include_unverified: bool = typer.Option(
        False,
        "--include-unverified",
        help="Rank every open activity, not only trusted ones (eligible, not lapsed).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Rank the dual-impact activities an SPO should back, with every score and the reasons.

    Give a postcode, a supplier (all its sites), or only a territory for a territory-wide
    ranking with no distance (what a community team or a territory-wide tender sees). The
    score combines proximity (to an activity's nearest delivery place), need (UK
    deprivation of the areas served), urgency (funding gap, closing date), theme fit and
    capacity/evidence, weighted by the territory's profile (`dualimpact weights show`).
    Only trusted activities (eligible dual-impact activities whose verification has not
    lapsed) unless --include-unverified; each is shown with its verification state. With
    --outcomes, only activities serving one of them (or, when none does within reach, the
    nearest that do, said plainly).
    """
    with open_engine() as engine, engine.connect() as conn:
        need = NeedIndex.from_frame(repository.need_areas(conn))
        found = near.recommend(
            conn,
            need,
            postcode=postcode,
            supplier=supplier,
            territory=territory,
            outcomes=outcomes.split(","),
            top=top,
            include_all=include_unverified,
        )
    ranked, profile = found.ranked, found.profile
    if as_json:
        rows = frame_records(ranked)
        for row in rows:
            row["trust"] = _trust(row)
        print_json(
            {
                "territory": found.territory,
                "profile": f"{profile.name} {profile.version}",
                "outcomes": found.outcomes,
                "include_unverified": found.include_all,
                "note": found.note,
                "unrecorded": found.unrecorded,
                "recommendations": rows,
            }
        )
        return
    which = "all open activities" if found.include_all else "trusted activities only"
    if found.note:
        console.print(found.note)
    _print_ranking(ranked, f"{found.heading}, {which} ({profile.name} {profile.version})")
    if not ranked.empty:
        console.print(f"[dim]{_unrecorded_words(found.unrecorded, len(ranked))}[/dim]")


def _trust(row: dict[str, object]) -> dict[str, str]:
    """An activity's verification, eligibility and where it is shown, in words."""
    return {
        "verification": verification_words(row),
        "eligibility": eligibility_words(row),
        "shown_at": location_words(row),
    }


def _unrecorded_words(unrecorded: dict[str, int], shown: int) -> str:
    gap, reach = unrecorded["funding_gap"], unrecorded["people_reached_per_year"]
    return (
        f"No funding gap is recorded for {gap} of these {shown} (their urgency counts none: "
        f"nothing is assumed); no reach is recorded for {reach}."
    )


def _print_ranking(ranked: pd.DataFrame, title: str) -> None:
    if ranked.empty:
        console.print(f"{title}: no open activities within reach.")
        return
    table = Table(title=title, show_lines=True)
    for column, justify in [
        ("#", "right"),
        ("Activity", "left"),
        ("Score", "right"),
        ("Why", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for i, row in enumerate(ranked.itertuples(), start=1):
        components = " ".join(
            f"{c[:4]} {getattr(row, c):.2f}" for c in COMPONENTS if pd.notna(getattr(row, c))
        )
        trust = _trust(row._asdict())
        table.add_row(
            str(i),
            str(row.name),
            f"{row.total:.2f}",
            f"{row.reason}\n{trust['verification'].capitalize()}; {trust['eligibility']}; "
            f"shown at {trust['shown_at']}\n[dim]{components}[/dim]",
        )
    console.print(table)


@weights_app.command("show")
def weights_show(
    territory: str = typer.Option(..., help="Territory code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The weight profile the territory scores with (its own, or the standard one)."""
    with open_engine() as engine, engine.connect() as conn:
        queries.territory_id(conn, territory)
        profile = queries.profile_for(conn, territory)
    shares = {c: round(profile.weight(c), 4) for c in COMPONENTS}
    data = {
        "territory": territory,
        "name": profile.name,
        "version": profile.version,
        "weights": shares,
        "proximity_scale_m": profile.proximity_scale_m,
        "proximity_cutoff_m": profile.proximity_cutoff_m,
        "default_service_radius_m": profile.default_service_radius_m,
    }
    if as_json:
        print_json(data)
        return
    console.print(f"{territory}: {profile.name} {profile.version}")
    for component, share in shares.items():
        console.print(f"  {component:<18} {share:.0%}")
    console.print(
        f"  proximity decays over {profile.proximity_scale_m:,.0f} m, cut off at "
        f"{profile.proximity_cutoff_m:,.0f} m; default area served "
        f"{profile.default_service_radius_m:,.0f} m"
    )


@weights_app.command("set")
def weights_set(
    territory: str = typer.Option(..., help="Territory code."),
    name: str = typer.Option(..., help="A name people will recognise, e.g. 'TVP 2027'."),
    proximity: float = typer.Option(STANDARD.weights["proximity"]),
    need: float = typer.Option(STANDARD.weights["need"]),
    urgency: float = typer.Option(STANDARD.weights["urgency"]),
    theme_fit: float = typer.Option(STANDARD.weights["theme_fit"]),
    capacity_evidence: float = typer.Option(STANDARD.weights["capacity_evidence"]),
    scale_m: float = typer.Option(STANDARD.proximity_scale_m, help="Proximity decay, metres."),
    cutoff_m: float = typer.Option(STANDARD.proximity_cutoff_m, help="Proximity cut-off, metres."),
) -> None:
    """Give a territory its own weights (unset ones keep the standard values)."""
    profile = WeightProfile(
        name=name,
        version="territory",
        weights={
            "proximity": proximity,
            "need": need,
            "urgency": urgency,
            "theme_fit": theme_fit,
            "capacity_evidence": capacity_evidence,
        },
        proximity_scale_m=scale_m,
        proximity_cutoff_m=cutoff_m,
    )
    with open_engine() as engine, engine.begin() as conn:
        queries.save_profile(conn, territory, profile)
    console.print(f"{territory} now scores with {name}.")


@weights_app.command("reset")
def weights_reset(territory: str = typer.Option(..., help="Territory code.")) -> None:
    """Hand the territory back to the published standard profile."""
    with open_engine() as engine, engine.begin() as conn:
        queries.reset_profile(conn, territory)
    console.print(f"{territory} scores with the {STANDARD.name} profile again.")


def impact(
    activity: int = typer.Option(..., help="Activity id."),
    value_set: Path | None = typer.Option(
        None, help="A value-set folder of your own (default: the open, OGL-based set)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Estimate the frontline costs an activity avoids a year, by agency, as ranges.

    Uses published unit costs uprated to a common price year and a documented assumptions
    table (outcomes per person reached, deadweight, attribution) that a buyer can replace
    with `--value-set`. Cashable savings are kept apart from wider economic and social
    value. Needs the activity's people reached per year
    (`dualimpact activities update ID --people-reached N`).
    """
    chosen = (
        load_value_set(value_set)
        if value_set
        else open_value_set(get_settings().require_data_dir())
    )
    with open_engine() as engine, engine.connect() as conn:
        row = registry_queries.activity_facts(conn, activity)
    result = estimate(ActivityFacts(**row), chosen)
    if as_json:
        print_json(
            {
                "activity_id": result.activity_id,
                "name": result.name,
                "people_reached_per_year": result.people_reached_per_year,
                "price_year": result.price_year,
                "uprating": result.uprating,
                "value_set": result.value_set,
                "assumptions": result.assumptions_status,
                "total": result.total._asdict(),
                "cashable": result.cashable._asdict(),
                "wider_value": result.wider_value._asdict(),
                "by_agency": {k: v._asdict() for k, v in result.by_agency.items()},
                "lines": frame_records(result.lines),
                "notes": list(result.notes),
                "attribution": result.attribution,
            }
        )
        return
    table = Table(title=f"{result.name}: avoided cost a year, {result.price_year} prices")
    for column in ("Agency", "Low", "Central", "High"):
        table.add_column(column, justify="left" if column == "Agency" else "right")
    for agency, values in result.by_agency.items():
        table.add_row(agency, *(f"£{v:,.0f}" for v in values))
    table.add_row("[bold]Cashable[/bold]", *(f"£{v:,.0f}" for v in result.cashable))
    table.add_row("[bold]Wider value[/bold]", *(f"£{v:,.0f}" for v in result.wider_value))
    table.add_row("[bold]Total[/bold]", *(f"£{v:,.0f}" for v in result.total))
    console.print(table)
    for note in (result.uprating, f"Assumptions: {result.assumptions_status}.", *result.notes):
        console.print(f"[dim]{note}[/dim]")
    console.print(f"[dim]{result.attribution}[/dim]")


def allocate_command(
    territory: str = typer.Option(..., help="Territory code."),
    pledges: Path = typer.Option(
        ..., help="CSV of pledges: supplier, postcode, kind (money, hours, in_kind), amount."
    ),
    include_unverified: bool = typer.Option(
        False,
        "--include-unverified",
        help="Allocate to every open activity, not only trusted ones (eligible, not lapsed).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Share pledges among the territory's activities to do the most need-weighted good.

    A linear program (HiGHS) maximises need-weighted pounds delivered, within each pledge's
    value, each activity's funding gap, a 25 km reach, and at least a quarter of each
    pledge in the supplier's own area (10 km); the obvious greedy allocation is computed on
    the same input and the gain printed beside it. Only trusted activities (eligible, not
    lapsed) unless --include-unverified, and only those with a recorded funding gap
    (`dualimpact activities update ID --funding-gap N`): no gap is assumed, and how many
    were left out for want of one is printed.
    """
    frame = read_pledges(pledges)
    with open_engine() as engine, engine.connect() as conn:
        placed = Geocoder(gazetteer_for(conn, frame["postcode"]), repository.locator(conn))
        located = placed.geocode(frame["postcode"])
        need = NeedIndex.from_frame(repository.need_areas(conn))
        found = fundable(
            queries.territory_activities(conn, territory, include_all=include_unverified)
        )
        profile = queries.profile_for(conn, territory)
    bad = (located["error"] != "").to_numpy()
    if bad.any():
        problems = [
            f"row {row}: {error}"
            for row, error in zip(frame["row"][bad], located["error"][bad], strict=True)
        ]
        raise DataFileError(pledges, problems)
    activities = found.activities
    if activities.empty:
        which = "open" if include_unverified else "trusted"
        raise InvalidInputError(
            f"no {which} activity in {territory} has a recorded funding gap "
            f"({found.gap_unrecorded} have none recorded); record gaps with "
            "`dualimpact activities update ID --funding-gap N`"
        )
    served = served_need(activities, need, profile.default_service_radius_m)
    x, y = to_bng(activities["lon"].to_numpy(float), activities["lat"].to_numpy(float))
    targets = pd.DataFrame(
        {
            "activity_id": activities["activity_id"],
            "gap": activities["funding_gap"],
            "weight": served["need_score"],
            "x": x,
            "y": y,
        }
    )
    px, py = to_bng(located["lon"].to_numpy(float), located["lat"].to_numpy(float))
    offers = frame.assign(pledge_id=frame["row"], x=px, y=py)
    best, greedy = compare(offers, targets)
    shown = activities[["activity_id", "name", "safeguarding", *registry_queries.TRUST_COLUMNS]]
    flows = privacy.redact(
        best.flows.merge(shown.rename(columns={"name": "activity"}), on="activity_id", how="left")
    ).drop(columns="safeguarding")
    gain = (best.impact - greedy.impact) / greedy.impact if greedy.impact else float("nan")
    summary = {
        "territory": territory,
        "pledges": len(offers),
        "include_unverified": include_unverified,
        "activities_with_gap": len(targets),
        "left_out": {"gap_not_recorded": found.gap_unrecorded, "no_gap": found.no_gap},
        "assumed_gaps": 0,
        "lp": {
            "impact": best.impact,
            "shortfall_gbp": best.shortfall_gbp,
            "unallocated_gbp": best.unallocated_gbp,
        },
        "greedy": {
            "impact": greedy.impact,
            "shortfall_gbp": greedy.shortfall_gbp,
            "unallocated_gbp": greedy.unallocated_gbp,
        },
        "gain_over_greedy": gain,
        "flows": frame_records(flows),
    }
    if as_json:
        print_json(summary)
        return
    table = Table(
        title=f"Allocation in {territory}: {len(offers)} pledges, "
        f"{len(targets)} activities with a funding gap"
    )
    for column in ("Pledge (row)", "Supplier", "Activity", "Trust", "£", "km"):
        table.add_column(column, justify="right" if column in ("£", "km") else "left")
    for row in flows.itertuples():
        table.add_row(
            str(row.pledge_id),
            str(row.supplier_id),
            str(row.activity),
            trust_label(row._asdict()),
            f"{row.amount_gbp:,.0f}",
            f"{row.distance_m / 1000:.1f}",
        )
    console.print(table)
    console.print(
        f"Need-weighted impact: {best.impact:,.0f} (linear program) vs {greedy.impact:,.0f} "
        f"(greedy, pledge by pledge): {gain:+.1%}. Own-area shortfall £{best.shortfall_gbp:,.0f}"
        f" vs £{greedy.shortfall_gbp:,.0f}; unallocated £{best.unallocated_gbp:,.0f}."
    )
    console.print(
        f"[dim]Only recorded funding gaps are used (none assumed): {found.gap_unrecorded} "
        f"{'open' if include_unverified else 'trusted'} activities were left out because no "
        f"gap is recorded for them, {found.no_gap} because their gap is zero.[/dim]"
    )


def read_pledges(path: Path) -> pd.DataFrame:
    """Pledges from a CSV: supplier, postcode, kind, amount (rows named as in the file)."""
    table = read_table(path, "csv")
    frame = table.frame
    missing = [c for c in ("supplier", "postcode", "kind", "amount") if c not in frame.columns]
    if missing:
        raise DataFileError(path, f"missing column(s): {', '.join(missing)}")
    amount = pd.to_numeric(frame["amount"].str.replace(r"[£,\s]", "", regex=True), errors="coerce")
    bad = ~np.isfinite(amount.to_numpy(dtype=float))
    if bad.any():
        raise DataFileError(
            path,
            [
                f"row {row}: amount {value!r} is not a number"
                for row, value in zip(table.row[bad], frame["amount"][bad], strict=True)
            ],
        )
    return pd.DataFrame(
        {
            "supplier_id": frame["supplier"],
            "postcode": frame["postcode"],
            "kind": frame["kind"].str.strip().str.lower(),
            "amount": amount,
            "row": table.row,
        }
    )
