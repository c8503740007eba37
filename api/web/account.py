"""Signing in and out, the person's own account (password change), invitations: the
operator's page to invite people to an organisation with a role, and the page the invited
person opens to choose a password."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, text

from accounts import invitations, sessions, verification
from accounts.tables import ROLES
from accounts.users import ROLE_NAMES, User, change_password
from api.deps import ReadConn, SettingsDep, WriteConn
from api.throttle import ThrottleDep, client_address
from api.web.render import done, form_error, page
from api.web.session import COOKIE, SignedIn, WebUser, requires, web_session
from boundaries.repository import territory_name
from geo.errors import DualImpactError

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(web_session)],
)

# Where each role starts after signing in.
HOME = {
    "provider": "/provider",
    "community": "/team",
    "supplier": "/supplier",
    "buyer_lead": "/buyer",
    "buyer_evaluator": "/buyer",
    "admin": "/operator",
}


def _safe_next(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site (never another site: no open redirect)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target:
        return fallback
    return target


def _set_cookie(response: Response, request: Request, token: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(sessions.LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure or request.url.scheme == "https",
        path="/",
    )


@router.get("/sign-in")
def sign_in_page(request: Request, user: WebUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next, HOME.get(user.role, "/")), 303)
    return page(request, "account/sign_in.html", page="sign-in", next=next or "")


@router.post("/sign-in")
async def sign_in(
    request: Request,
    throttle: ThrottleDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Sign in with the same checks and throttling as ``POST /token``."""
    engine = request.app.state.engine
    try:
        user = await run_in_threadpool(
            throttle.sign_in, engine, email, password, client_address(request)
        )
    except DualImpactError as exc:
        return form_error(
            request, "account/sign_in.html", exc, {"email": email}, page="sign-in", next=next
        )

    def start() -> str:
        with engine.begin() as conn:
            return sessions.start(conn, user.id)

    token = await run_in_threadpool(start)
    response = RedirectResponse(_safe_next(next, HOME.get(user.role, "/")), 303)
    _set_cookie(response, request, token, settings.cookie_secure)
    return response


@router.post("/sign-out")
def sign_out(request: Request, conn: WriteConn) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        sessions.end(conn, token)
    response = RedirectResponse("/", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _account_page(
    request: Request, conn: Connection, user: User, status: int = 200, **context: object
) -> HTMLResponse:
    places = ", ".join(territory_name(conn, code) for code in user.territories)
    return page(
        request,
        "account/account.html",
        status,
        page="account",
        me=user,
        territories_text=places,
        **context,
    )


@router.get("/account")
def account(request: Request, conn: ReadConn, user: SignedIn) -> HTMLResponse:
    return _account_page(request, conn, user)


@router.post("/account/password")
def password(
    request: Request,
    conn: WriteConn,
    user: SignedIn,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
    again: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Change the password; every other session of this person ends."""
    try:
        if new != again:
            raise DualImpactError("the two new passwords differ: type the same one twice")
        with conn.begin_nested():
            change_password(conn, user.id, current, new)
    except DualImpactError as exc:
        return _account_page(request, conn, user, 422, error=str(exc))
    sessions.end_others(conn, user.id, keep=request.cookies.get(COOKIE))
    return done(request, conn, "/account", "Password changed; your other sessions were ended.")


def _organisations(conn: Connection) -> list[tuple[int, str]]:
    """(id, "name (kind)") of every organisation, for the invitation form."""
    rows = conn.execute(text("SELECT id, name, kind FROM organisation ORDER BY name, id"))
    return [(row.id, f"{row.name} ({row.kind})") for row in rows]


def _operator_page(
    request: Request, conn: Connection, user: User, status: int = 200, **context: object
) -> HTMLResponse:
    claims = [
        {**claim, "place": territory_name(conn, claim["territory_code"])}
        for claim in verification.waiting_claims(conn, user)
    ]
    return page(
        request,
        "account/operator.html",
        status,
        page="operator",
        organisations=_organisations(conn),
        roles=[(role, ROLE_NAMES[role]) for role in ROLES],
        invitations=invitations.recent(conn),
        claims=claims,
        **context,
    )


@router.get("/operator")
def operator(
    request: Request, conn: ReadConn, user: Annotated[User, requires("admin")]
) -> HTMLResponse:
    return _operator_page(request, conn, user)


@router.post("/operator/invite")
def invite(
    request: Request,
    conn: WriteConn,
    user: Annotated[User, requires("admin")],
    email: Annotated[str, Form(max_length=254)],
    name: Annotated[str, Form(max_length=200)],
    organisation_id: Annotated[int, Form()],
    role: Annotated[str, Form(max_length=20)],
) -> HTMLResponse:
    """Invite a person; the page shows the link to send them (once)."""
    form = {"email": email, "name": name, "organisation_id": organisation_id, "role": role}
    try:
        with conn.begin_nested():
            token = invitations.invite(
                conn, user, email=email, name=name, organisation_id=organisation_id, role=role
            )
    except DualImpactError as exc:
        return _operator_page(request, conn, user, 422, error=str(exc), form=form)
    link = str(request.url_for("invitation_page", token=token))
    return _operator_page(request, conn, user, invited=link, invited_email=email.strip().lower())


@router.post("/operator/claims/{activity_id}/approve")
def approve_claim(
    request: Request,
    conn: WriteConn,
    user: Annotated[User, requires("admin")],
    activity_id: int,
    organisation_id: Annotated[int, Form()],
) -> Response:
    """Approve a provider's claim that no charity or company number proved."""
    try:
        with conn.begin_nested():
            verification.approve_claim(conn, user, activity_id, organisation_id)
    except DualImpactError as exc:
        return _operator_page(request, conn, user, 409, error=str(exc))
    return done(request, conn, "/operator", "Claim approved: the provider now keeps the record.")


@router.get("/invite/{token}", name="invitation_page")
def invitation_page(request: Request, conn: ReadConn, token: str) -> HTMLResponse:
    try:
        found = invitations.pending(conn, token)
    except DualImpactError as exc:
        return page(request, "error.html", 404, error=str(exc), heading="Invitation not valid")
    return page(request, "account/invitation.html", invitation=found, token=token)


@router.post("/invite/{token}")
def accept_invitation(
    request: Request,
    conn: WriteConn,
    settings: SettingsDep,
    token: str,
    password: Annotated[str, Form(max_length=1024)],
    again: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Choose a password: the account is made and the person signed in."""
    try:
        found = invitations.pending(conn, token)
        if password != again:
            raise DualImpactError("the two passwords differ: type the same one twice")
        with conn.begin_nested():
            user_id = invitations.accept(conn, token, password)
    except DualImpactError as exc:
        try:
            found = invitations.pending(conn, token)
        except DualImpactError:
            return page(request, "error.html", 404, error=str(exc), heading="Invitation not valid")
        return form_error(
            request, "account/invitation.html", exc, {}, invitation=found, token=token
        )
    role = found.role
    session_token = sessions.start(conn, user_id)
    response = RedirectResponse(HOME.get(role, "/"), 303)
    _set_cookie(response, request, session_token, settings.cookie_secure)
    return response
