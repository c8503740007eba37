"""The platform's admins add organisations and people (the first admin comes from
``dualimpact users create``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from accounts.users import create_organisation, create_user, require_role
from api.deps import CurrentUser, WriteConn
from api.schemas import OrganisationIn, UserIn

router = APIRouter(tags=["admin"])


@router.post("/organisations", status_code=status.HTTP_201_CREATED)
def add_organisation(body: OrganisationIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    require_role(user, ["admin"], "add an organisation")
    organisation_id = create_organisation(
        conn, body.kind, body.name, buyer_kind=body.buyer_kind, territories=body.territories
    )
    return {"id": organisation_id, **body.model_dump()}


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(body: UserIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    require_role(user, ["admin"], "add a user")
    user_id = create_user(
        conn, body.email, body.name, body.password, body.organisation_id, body.role
    )
    return {"id": user_id, **body.model_dump(exclude={"password"})}
