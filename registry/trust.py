"""How much to trust a territory's map: what share of its open activities the register
has found eligible, a community team has verified, are classified, have a known delivery
site, have a recorded reach and funding gap, and have been heard of recently.

Counted over the open activities (not closed) each territory holds, all of them (trusted
or not): the point is to say how much of what is listed can be relied on. Read from the
view ``activity_placed``, so the verification state is the effective one (a claimed or
verified record not heard of for the lapse period reads as lapsed) and ``fresh`` follows
the session's lapse period (``dualimpact.lapse_years``).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import NotFoundError

# count column → what it counts, in the words the page, the CLI and the API use.
MEASURES: dict[str, str] = {
    "eligible": "are eligible dual-impact activities",
    "verified": "are verified by a community team",
    "categorised": "have a dual-impact category or a theme",
    "with_delivery_site": "have a known delivery site (not only a registered office)",
    "with_reach_and_gap": "have a recorded reach and funding gap",
    "fresh": "were heard of within the lapse period",
}
# Further counts, shown as numbers only.
COUNTS = ("trusted", "needs_review", "ineligible", "claimed", "lapsed", "registered_office")

_SUMMARY = """
    SELECT t.code AS territory_code, t.name AS territory_name,
           count(a.id) AS activities,
           count(a.id) FILTER (WHERE a.eligibility = 'eligible') AS eligible,
           count(a.id) FILTER (WHERE a.verification = 'verified') AS verified,
           count(a.id) FILTER (WHERE cardinality(a.eligibility_categories) > 0
                                  OR cardinality(a.themes) > 0) AS categorised,
           count(a.id) FILTER (WHERE a.delivery_site_count > 0) AS with_delivery_site,
           count(a.id) FILTER (WHERE a.people_reached_per_year IS NOT NULL
                                 AND a.funding_gap IS NOT NULL) AS with_reach_and_gap,
           count(a.id) FILTER (WHERE a.fresh) AS fresh,
           count(a.id) FILTER (WHERE a.trusted) AS trusted,
           count(a.id) FILTER (WHERE a.eligibility = 'needs_review') AS needs_review,
           count(a.id) FILTER (WHERE a.eligibility = 'ineligible') AS ineligible,
           count(a.id) FILTER (WHERE a.verification = 'claimed') AS claimed,
           count(a.id) FILTER (WHERE a.verification = 'lapsed') AS lapsed,
           count(a.id) FILTER (WHERE a.located_at = 'registered_office') AS registered_office
    FROM current_territory t
    LEFT JOIN activity_placed a ON a.territory_code = t.code AND a.status <> 'closed'
    WHERE CAST(:territory AS text) IS NULL OR t.code = :territory
    GROUP BY t.code, t.name
    ORDER BY t.code
"""


def trust_summary(conn: Connection, territory: str | None = None) -> pd.DataFrame:
    """Per territory (all of them, or one): how many open activities it lists and how
    many of them meet each measure of :data:`MEASURES` (and :data:`COUNTS`), with each
    measure's share of the activities (``share_<measure>``, 0-1; 0 when none are listed).

    Parameters
    ----------
    conn
        A connection to the platform's database.
    territory
        A territory code (``E23000029``), or None for every current territory.

    Returns
    -------
    pandas.DataFrame
        One row per territory, by code: ``territory_code``, ``territory_name``,
        ``activities``, a count per measure and count, and a share per measure.

    Raises
    ------
    NotFoundError
        ``territory`` is not a current territory.
    """
    frame = pd.read_sql(text(_SUMMARY), conn, params={"territory": territory})
    if territory is not None and frame.empty:
        raise NotFoundError(f"unknown territory {territory!r} (codes look like E23000029)")
    return with_shares(frame)


def with_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """``counts`` with ``share_<measure>`` = count / activities (0 when there are none)."""
    total = counts["activities"].where(counts["activities"] > 0)
    shares = {f"share_{m}": (counts[m] / total).fillna(0.0) for m in MEASURES}
    return counts.assign(**shares)


def sentences(row: pd.Series) -> list[str]:
    """A territory's trust summary in plain words, one sentence per measure
    ("312 of 540 open activities (58%) are eligible dual-impact activities.")."""
    total = int(row["activities"])
    if total == 0:
        return ["No open activities are listed here yet."]
    return [
        f"{int(row[m]):,} of {total:,} open activities ({row[f'share_{m}']:.0%}) {words}."
        for m, words in MEASURES.items()
    ]
