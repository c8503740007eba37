"""Set-based upsert of staged import rows into a registry table, shared by the importers.

Rows are staged in a temporary table ``<table>_in`` (with ``target_id`` and ``merged``
filled by the caller's matching), then resolved to ids: the owning organisation (its
natural key staged as ``<owner>_key``), the current territory and need area by code.
Then, in order:

* new rows are inserted (``stored``);
* rows matched in their own source take the file's values wherever it gives one
  (``updated`` if anything changed, else ``unchanged``);
* rows matched to a record of another source only fill that record's gaps (``merged``).

List columns (themes, evidence) are always joined, never shortened, so importing files in
any order, any number of times, settles on the same state. A ``protected`` condition keeps
columns a person set by hand (e.g. overridden themes); ``sticky`` flags (safeguarding),
once set, are never cleared by an import; defaults apply only when a record is created, so
a file that says nothing about a column never resets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class Upsert:
    table: str
    owner: str  # the organisation kind that owns each row ("provider", "supplier")
    values: Sequence[str]  # stored columns an import may set
    lists: Sequence[str] = ()  # array columns among ``values`` that are joined
    inserted_only: Sequence[str] = ()  # set on insert only (source, keys)
    protected: dict[str, str] = field(default_factory=dict)  # column → "keep it" condition
    ordering: dict[str, str] = field(default_factory=dict)  # list column → ORDER BY expr of t
    # Defaults applied only when a record is created (a re-import never resets them).
    insert_defaults: dict[str, str] = field(default_factory=dict)
    # Flags that, once true, an import never turns off (e.g. safeguarding).
    sticky: Sequence[str] = ()

    def run(self, conn: Connection) -> dict[str, int]:
        staging = f"{self.table}_in"
        stored = conn.execute(text(self._insert())).rowcount
        updated = conn.execute(text(self._update(merged=False))).rowcount
        conn.execute(text(self._update(merged=True)))
        matched, merged = conn.execute(
            text(
                f"SELECT count(*) FILTER (WHERE NOT merged), count(*) FILTER (WHERE merged)"
                f" FROM {staging} WHERE target_id IS NOT NULL"
            )
        ).one()
        return {
            "stored": stored,
            "updated": updated,
            "merged": merged,
            "unchanged": matched - updated,
        }

    @property
    def resolved(self) -> str:
        """The staged rows (``r.*``) with the ids of their owner, territory and need area
        (no owner id for a row merged into a record that keeps its own owner)."""
        return f"""
            SELECT i.*, o.id AS {self.owner}_id, t.id AS territory_id, n.id AS need_area_id
            FROM {self.table}_in i
            LEFT JOIN organisation o
                ON o.kind = '{self.owner}' AND o.natural_key = i.{self.owner}_key
            JOIN current_territory t ON t.code = i.territory_code
            LEFT JOIN current_need_area n ON n.code = i.need_area_code
        """

    def _insert(self) -> str:
        columns = [*self.inserted_only, *self.values]
        values = [
            f"coalesce({c}, {self.insert_defaults[c]})" if c in self.insert_defaults else c
            for c in columns
        ]
        return (
            f"INSERT INTO {self.table} ({', '.join(columns)}) SELECT {', '.join(values)}"
            f" FROM ({self.resolved}) r WHERE r.target_id IS NULL"
        )

    def _new_value(self, column: str, *, merged: bool) -> str:
        if column in self.sticky:
            value = f"(t0.{column} OR coalesce(r.{column}, false))"
        elif column in self.lists:
            order = self.ordering.get(column, "t")
            value = (
                f"ARRAY(SELECT DISTINCT ON ({order}) t FROM unnest(t0.{column} || r.{column}) t"
                f" ORDER BY {order})"
            )
        elif merged:
            value = f"coalesce(t0.{column}, r.{column})"
        else:
            value = f"coalesce(r.{column}, t0.{column})"
        keep = self.protected.get(column)
        return f"CASE WHEN {keep} THEN t0.{column} ELSE {value} END" if keep else value

    def _update(self, *, merged: bool) -> str:
        new = {c: self._new_value(c, merged=merged) for c in self.values}
        return f"""
            UPDATE {self.table} t0 SET
                {", ".join(f"{c} = {v}" for c, v in new.items())}, updated_at = now()
            FROM ({self.resolved}) r
            WHERE t0.id = r.target_id AND r.merged = {str(merged).lower()}
              AND ROW({", ".join(f"t0.{c}" for c in self.values)})
                  IS DISTINCT FROM ROW({", ".join(new.values())})
        """
