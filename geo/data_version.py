"""The data version: one number that moves whenever data the public pages are built from
changes (activities and their history, delivery and supplier sites, tenders, SPOs and
their variations and deliveries, boundaries and need areas, weight profiles), with the
time it moved. Caches of coverage and rendered pages are keyed by it, so a change shows
at once and in every worker process (the number lives in the database).

Cached values are also dropped when the date changes (verification lapses with time).
The row is moved by deferred triggers (migration 0010) when a writing transaction
commits, so a reader never sees a version whose data it cannot yet see: read the
version first, then the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from geo.metadata import metadata

data_version = sa.Table(
    "data_version",
    metadata,
    sa.Column("id", sa.Boolean(), primary_key=True, server_default=sa.true()),
    sa.Column("version", sa.BigInteger(), nullable=False, server_default="1"),
    sa.Column(
        "changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    # The transaction that last moved it: later rows of the same transaction skip the update.
    sa.Column("changed_by", sa.BigInteger(), nullable=False, server_default="0"),
    sa.CheckConstraint("id", name="ck_data_version_one_row"),
)


@dataclass(frozen=True)
class DataVersion:
    """The version number, when it last moved, and today's date in the database (an
    activity's verification lapses as days pass, with no write)."""

    number: int
    changed_at: datetime
    today: date

    @property
    def key(self) -> tuple[int, date]:
        """What a cached value built at this version stays valid for."""
        return self.number, self.today


def current(conn: Connection) -> DataVersion:
    """The data version (one primary-key read of a one-row table)."""
    row = conn.execute(
        sa.select(data_version.c.version, data_version.c.changed_at, sa.func.current_date())
    ).one()
    return DataVersion(int(row[0]), row[1], row[2])
