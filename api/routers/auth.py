"""Sign in (OAuth2 password flow) and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from accounts import tokens
from accounts.users import authenticate
from api.deps import CurrentUser, ReadConn, SettingsDep
from api.schemas import Token

router = APIRouter(tags=["sign-in"])


@router.post("/token")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], conn: ReadConn, settings: SettingsDep
) -> Token:
    """An access token for the email (``username``) and password; send it as
    ``Authorization: Bearer <token>``. It expires after a short time."""
    user = authenticate(conn, form.username, form.password)
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
