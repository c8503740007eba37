"""The data version: caches of coverage and pages know when their data changed.

* ``data_version``: one row (version, changed_at, changed_by);
* ``bump_data_version()``: moves it once per writing transaction, when the transaction
  commits (constraint triggers ``DEFERRABLE INITIALLY DEFERRED`` on every row written to
  the tables pages are built from), so the new number is seen only with the data; the lock
  on the row is the last one a writer takes, so it cannot close a deadlock cycle;
* a statement-level trigger does the same after ``TRUNCATE`` (bulk reloads).

The triggers run as whoever writes (the app's role may UPDATE the row: ``geo.roles``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables the public pages, maps and coverage are built from.
WATCHED = (
    "boundary_set",
    "territory",
    "territory_piece",
    "need_area",
    "need_area_shape",
    "organisation",
    "activity",
    "activity_event",
    "delivery_site",
    "supplier_site",
    "weight_profile",
    "tender",
    "tender_location",
    "eligibility_allowance",
    "spo",
    "spo_commitment",
    "spo_variation",
    "spo_delivery",
)


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("changed_by", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("id", name="ck_data_version_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO data_version DEFAULT VALUES")
    op.execute(
        """
        CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_version
               SET version = version + 1, changed_at = clock_timestamp(),
                   changed_by = txid_current()
             WHERE changed_by <> txid_current();
            RETURN NULL;
        END $$
        """
    )
    for table in WATCHED:
        op.execute(
            f"""
            CREATE CONSTRAINT TRIGGER {table}_data_version
            AFTER INSERT OR UPDATE OR DELETE ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version()
            """
        )
        op.execute(
            f"""
            CREATE TRIGGER {table}_data_version_truncate AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()
            """
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_data_version_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
    op.execute("DROP FUNCTION bump_data_version()")
    op.drop_table("data_version")
