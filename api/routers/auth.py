"""Sign in (OAuth2 password flow) and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import Engine

from accounts import tokens
from api.deps import CurrentUser, SettingsDep, engine_of
from api.schemas import Token
from api.throttle import ThrottleDep, client_address

router = APIRouter(tags=["sign-in"])

THROTTLED = {
    "description": "Too many failed sign-ins for this account or from this address, or too "
    "many sign-ins waiting to be checked: try again after `Retry-After` seconds."
}


@router.post("/token", responses={401: {"description": "Wrong email or password."}, 429: THROTTLED})
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    engine: Annotated[Engine, Depends(engine_of)],
    settings: SettingsDep,
    throttle: ThrottleDep,
) -> Token:
    """An access token for the email (``username``) and password; send it as
    ``Authorization: Bearer <token>``. It expires after a short time.

    Failed sign-ins are limited per account and per client address (see the settings
    ``DUALIMPACT_LOGIN_*``); past the limit, sign-ins are refused with 429 and
    ``Retry-After`` until the window lets one through. Every attempt is recorded."""
    user = throttle.sign_in(engine, form.username, form.password, client_address(request))
    minutes = settings.token_minutes
    return Token(
        access_token=tokens.issue(user.id, settings.signing_key(), minutes),
        expires_in=minutes * 60,
    )


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """The signed-in user, their organisation and role."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "organisation": {
            "id": user.organisation_id,
            "name": user.organisation_name,
            "kind": user.organisation_kind,
            "territories": list(user.territories),
        },
    }
