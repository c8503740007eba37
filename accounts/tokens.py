"""Short-lived signed access tokens (JWT, HS256, PyJWT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from geo.errors import AuthenticationError

ALGORITHM = "HS256"


def issue(user_id: int, key: str, minutes: int) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=minutes)}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def user_id_of(token: str, key: str) -> int:
    """The user a valid, unexpired token was issued to."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the access token has expired: sign in again") from None
    except (jwt.InvalidTokenError, ValueError):
        raise AuthenticationError("the access token is not valid") from None
