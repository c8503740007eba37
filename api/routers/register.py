"""The public register of awarded SPOs, their KPIs (CSV or JSON), OCDS releases and the
OCDS extension that declares their ``socialPurchaseOrder`` block."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import ReadConn
from api.schemas import Id
from geo.attribution import SHORT
from geo.jsonable import jsonable, records
from procurement import ocds, reporting

router = APIRouter(prefix="/register", tags=["register"])
Territory = Annotated[str | None, Query(pattern=r"^[A-Z]\d{8}$", examples=["E23000029"])]


@router.get("")
def register(
    request: Request,
    conn: ReadConn,
    territory: Territory = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JSONResponse:
    """Awarded SPOs, newest first: buyer, supplier, activities, value committed, delivered
    (confirmed by the activity's provider) and claimed. Bids before award never appear."""
    total = reporting.register_size(conn, territory)
    following = None
    if offset + limit < total:
        following = str(request.url.include_query_params(offset=offset + limit))
    page = reporting.register(conn, territory, limit=limit, offset=offset)
    return JSONResponse(
        {"spos": jsonable(page), "total": total, "next": following, "attribution": SHORT}
    )


@router.get("/ocds")
def ocds_package(request: Request, conn: ReadConn, territory: Territory = None) -> dict[str, Any]:
    """The register as an Open Contracting (OCDS 1.1) release package; each SPO is in the
    release's ``socialPurchaseOrder`` block, declared by the extension served below. 404
    while nothing is awarded (a package holds at least one release)."""
    return jsonable(ocds.ocds_package(conn, str(request.base_url), territory))


@router.get("/ocds/extension/{name}", response_model=None)
def ocds_extension(name: ocds.ExtensionFile, request: Request) -> Response:
    """The OCDS extension that declares ``socialPurchaseOrder``: its ``extension.json``,
    ``release-schema.json`` (a JSON Merge Patch of the release schema) and ``README.md``."""
    media = "text/markdown" if name.endswith(".md") else "application/json"
    return Response(ocds.extension_file(name, str(request.base_url)), media_type=media)


@router.get("/{spo_id}/kpis", response_model=None)
def kpis(
    spo_id: Id, conn: ReadConn, format: Literal["json", "csv"] = "json"
) -> dict[str, Any] | Response:
    """An awarded SPO's commitments as contract KPIs with delivery against each, for the
    Procurement Act's contract performance notices."""
    frame = reporting.kpis(conn, spo_id)
    if format == "csv":
        return Response(
            frame.to_csv(index=False),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="spo-{spo_id}-kpis.csv"',
                "X-Attribution": SHORT.replace("©", "(c)"),  # headers are ASCII
            },
        )
    return {"spo": spo_id, "kpis": records(frame), "attribution": SHORT}
