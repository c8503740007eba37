"""Tenders: buyers open them; suppliers draft SPOs against them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from api.deps import CurrentUser, IndexesDep, ReadConn, ViewerDep, WriteConn
from api.schemas import Body, Id, Include, SpoIn, TenderIn, Text
from boundaries.gazetteer import gazetteer_for
from geo.attribution import SHORT
from geo.geocode import Geocoder
from geo.jsonable import jsonable, records
from matching import near
from procurement import allowances, spo_queries, spos, tenders
from procurement.visibility import Viewer

router = APIRouter(prefix="/tenders", tags=["tenders"])


class AllowanceIn(Body):
    """The tender's buyer lets its SPOs commit to an activity the register does not trust."""

    activity_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    reason: Text


@router.post("", status_code=status.HTTP_201_CREATED)
def open_tender(body: TenderIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """A buyer lead opens a tender for one of its territories (social value weighted at
    least 10 %, as PPN 002 asks), with its Find a Tender OCID and notice link if it has
    them."""
    spec = tenders.TenderSpec(**body.model_dump())
    geocoder = Geocoder(gazetteer_for(conn, body.delivery_postcodes), None)
    tender_id = tenders.open_tender(conn, user, spec, geocoder)
    return jsonable(tenders.get_tender(conn, tender_id))


@router.get("")
def list_tenders(
    conn: ReadConn, territory: Annotated[str | None, Query(pattern=r"^[A-Z]\d{8}$")] = None
) -> dict[str, Any]:
    """Open and past tenders (tenders are public; the bids against them are not)."""
    return {"tenders": jsonable(tenders.list_tenders(conn, territory))}


@router.get("/{tender_id}")
def get_tender(tender_id: Id, conn: ReadConn) -> dict[str, Any]:
    return jsonable(tenders.get_tender(conn, tender_id))


@router.get("/{tender_id}/bids")
def bids(tender_id: Id, conn: ReadConn, user: CurrentUser) -> dict[str, Any]:
    """For the tender's buyer: how many bids are in (the bids themselves are sealed until
    the bid deadline)."""
    return {"tender": tender_id, "bids_in": tenders.bids_in(conn, user, tender_id)}


@router.get("/{tender_id}/recommendations")
def recommendations(
    tender_id: Id,
    conn: ReadConn,
    indexes: IndexesDep,
    postcode: Annotated[str | None, Query(max_length=12)] = None,
    top: Annotated[int, Query(ge=1, le=200)] = 10,
    include: Include = "trusted",
) -> dict[str, Any]:
    """What an SPO for this tender should back: trusted activities of the tender's
    territory (``?include=all``: every listed one), ranked against the outcomes it seeks,
    near ``postcode`` (a supplier's site) if given."""
    tender = tenders.get_tender(conn, tender_id)
    found = near.recommend(
        conn,
        indexes.need(),
        postcode=postcode,
        territory=tender["territory_code"],
        outcomes=tender["outcomes"],
        top=top,
        include_all=include == "all",
    )
    return {
        "tender": tender_id,
        "territory": found.territory,
        "heading": found.heading,
        "outcomes": found.outcomes,
        "note": found.note,
        "unrecorded": found.unrecorded,
        "recommendations": records(found.ranked),
        "attribution": SHORT,
    }


@router.post("/{tender_id}/spos", status_code=status.HTTP_201_CREATED)
def draft_spo(tender_id: Id, body: SpoIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """A supplier drafts its SPO for the tender (one live SPO per supplier and tender),
    committing only to eligible, current activities or those the tender's buyer allows."""
    spo_id = spos.draft(conn, user, tender_id, body.summary, [c.spec() for c in body.commitments])
    return jsonable(spo_queries.get_spo(conn, Viewer.of(user), spo_id))


@router.get("/{tender_id}/spos")
def tender_spos(tender_id: Id, conn: ReadConn, viewer: ViewerDep) -> dict[str, Any]:
    """The tender's SPOs you may see: before award your own (supplier) or, from the bid
    deadline on, the submitted ones (the tender's buyer; sealed until then); after award,
    the winner."""
    tenders.get_tender(conn, tender_id)
    return {"spos": jsonable(spo_queries.list_spos(conn, viewer, tender_id=tender_id))}


@router.post("/{tender_id}/allowances", status_code=status.HTTP_201_CREATED)
def allow(tender_id: Id, body: AllowanceIn, conn: WriteConn, user: CurrentUser) -> dict[str, Any]:
    """The tender's buyer lead lets its SPOs commit to an activity that is not eligible (or
    has lapsed), with a reason for the record; allowances are never changed or removed."""
    return jsonable(allowances.allow(conn, user, tender_id, body.activity_id, body.reason))


@router.get("/{tender_id}/allowances")
def tender_allowances(tender_id: Id, conn: ReadConn, user: CurrentUser) -> dict[str, Any]:
    """The activities the tender's buyer allows its SPOs to commit to though the register
    does not trust them: for the buyer, the suppliers bidding and the platform's admins."""
    return {
        "tender": tender_id,
        "allowances": jsonable(allowances.allowances(conn, Viewer.of(user), tender_id)),
    }
