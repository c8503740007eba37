"""Rendering the web pages: one Jinja environment (autoescaped), the context every page
gets (who is signed in, their navigation, the form token, a waiting message, the data
attribution), and the answers a form gives (a redirect with a message, or the form again
with the input kept and what to do)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection

from accounts import sessions
from accounts.users import ROLE_NAMES, User
from api.web.session import COOKIE, csrf_token
from geo.attribution import SHORT

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    page: str


PUBLIC_NAV = (
    NavLink("/", "UK coverage", "home"),
    NavLink("/finder", "Supplier finder", "finder"),
    NavLink("/community", "Community view", "community"),
)
# The signed-in person's own work, by role (an analyst reads the public pages and the API).
ROLE_NAV: Mapping[str, tuple[NavLink, ...]] = {
    "provider": (NavLink("/provider", "My activities", "provider"),),
    "community": (NavLink("/team", "Review queue", "team"),),
    "supplier": (NavLink("/supplier", "Bids and SPOs", "supplier"),),
    "buyer_lead": (NavLink("/buyer", "Tenders", "buyer"),),
    "buyer_evaluator": (NavLink("/buyer", "Tenders", "buyer"),),
    "admin": (NavLink("/operator", "People and claims", "operator"),),
}


templates.env.globals["role_names"] = ROLE_NAMES


def nav_for(user: User | None) -> tuple[NavLink, ...]:
    """The navigation links for ``user`` (the public pages for a signed-out visitor)."""
    own = ROLE_NAV.get(user.role, ()) if user else ()
    return own + PUBLIC_NAV


def _user_of(request: Request) -> User | None:
    session = getattr(request.state, "web_session", None)
    return session.user if session else None


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the common context.

    Parameters
    ----------
    request
        The request (its session, if a dependency looked it up, and the CSRF token).
    name
        The template, relative to ``api/templates``.
    status
        The HTTP status (422 for a form sent back with a problem).
    **context
        The template's own values; ``error`` (a message) and ``form`` (the input to keep)
        are shown by the form macros.
    """
    session = getattr(request.state, "web_session", None)
    user = session.user if session else None
    context.setdefault("error", None)
    context.setdefault("form", {})
    context.setdefault("page", "")
    return templates.TemplateResponse(
        request,
        name,
        {
            "attribution": SHORT,
            "user": user,
            "role_name": ROLE_NAMES.get(user.role, "") if user else "",
            "nav": nav_for(user),
            "flash": session.flash if session else None,
            "csrf_token": csrf_token(request),
            **context,
        },
        status_code=status,
    )


def form_error(
    request: Request, name: str, error: Exception | str, form: Mapping[str, Any], **context: Any
) -> HTMLResponse:
    """The form page again (422) with ``form``'s input kept and the problem said."""
    return page(request, name, 422, error=str(error), form=dict(form), **context)


def done(request: Request, conn: Connection, url: str, message: str) -> RedirectResponse:
    """After a change: go to ``url`` (303, so a reload does not send the form again),
    where ``message`` is shown once. ``conn`` is the change's own transaction, so the
    message is saved with the change or not at all."""
    token = request.cookies.get(COOKIE)
    if token:
        sessions.flash(conn, token, message)
    return RedirectResponse(url, status_code=303)
