"""The territory report a procurement lead hands to a board (:mod:`maps.board_report`): one
printable page, public data only (awarded SPOs, coverage of the trusted activities), under
a Content-Security-Policy that lets through its own inline stylesheet by hash and nothing
else (it has no script)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.deps import IndexesDep, ReadConn
from api.security import content_security_policy
from api.web.render import page
from api.web.session import web_session
from geo.errors import NotFoundError
from maps import board_report, report

router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(web_session)],  # an error page's navigation shows who is signed in
)


@router.get("/territory/{code}/report")
def territory_report(
    request: Request, code: str, conn: ReadConn, indexes: IndexesDep
) -> HTMLResponse:
    """A territory's report for the board, by code in any case: headline figures, the gap
    map, the most underserved places, activities at risk, the SPO register, how much is
    verified or assumed, and the data attribution."""
    code = code.strip().upper()
    found = indexes.coverage(include_all=False)  # a board sees the trusted activities
    try:
        report.known_territory(found, code)
    except NotFoundError as exc:
        return page(request, "error.html", 404, error=str(exc), heading="No such territory")
    document = board_report.page(board_report.build(conn, found, code))
    policy = content_security_policy({"style-src": document.styles})
    return HTMLResponse(document.html, headers={"content-security-policy": policy})
