"""Who may see an SPO. One rule, used by every list, search, GeoJSON, map, export and
count: before award an SPO is visible only to its supplier and to the tender's buyer;
from award on it is public. Losing bids are never published. The platform's admins see
everything (to operate it); analysts see what their organisation sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.users import User
from procurement.states import PUBLIC

PUBLIC_SQL = "({spo}.status IN (" + ", ".join(f"'{s}'" for s in PUBLIC) + "))"


@dataclass(frozen=True)
class Viewer:
    organisation_id: int | None = None
    admin: bool = False

    @classmethod
    def of(cls, user: User | None) -> Viewer:
        if user is None:
            return cls()
        return cls(organisation_id=user.organisation_id, admin=user.role == "admin")


ANONYMOUS = Viewer()


def spo_filter(viewer: Viewer, spo: str = "s", tender: str = "t") -> tuple[str, dict[str, int]]:
    """A SQL condition (and its parameters) true for the SPOs ``viewer`` may see.

    The query must alias the SPO table ``spo`` and its tender ``tender``.
    """
    public = PUBLIC_SQL.format(spo=spo)
    if viewer.admin:
        return "TRUE", {}
    if viewer.organisation_id is None:
        return public, {}
    own = f"({spo}.supplier_id = :viewer_org OR {tender}.buyer_id = :viewer_org)"
    return f"({public} OR {own})", {"viewer_org": viewer.organisation_id}
