"""The platform's admins add organisations and people (the first admin comes from
``dualimpact users create``); who may is a row of :data:`accounts.permissions.PERMISSIONS`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from accounts.permissions import Action, require
from accounts.users import create_organisation, create_user
from api.deps import CurrentUser, WriteConn
from api.schemas import OrganisationIn, UserIn

router = APIRouter(tags=["admin"])


@router.post("/organisations", status_code=status.HTTP_201_CREATED)
def add_organisation(body: OrganisationIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    require(user, Action.ADD_ORGANISATION)
    organisation_id = create_organisation(
        conn, body.kind, body.name, buyer_kind=body.buyer_kind, territories=body.territories
    )
    return {"id": organisation_id, **body.model_dump()}


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(body: UserIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    require(user, Action.ADD_USER)
    user_id = create_user(
        conn, body.email, body.name, body.password, body.organisation_id, body.role
    )
    return {"id": user_id, **body.model_dump(exclude={"password"})}
