"""The public register as Open Contracting (OCDS 1.1) releases, and the platform's
Social Purchase Order extension to OCDS.

One release per awarded SPO, published only from the public register
(:func:`procurement.reporting.register`): a bid before award, or a losing bid, never
reaches a package. Each release is a snapshot of the SPO at its audit chain's latest
checkpoint, so its ``id`` changes whenever the SPO does (OCDS releases are immutable).

Parties are identified by organisation identifiers, never by name: the Public Procurement
Organisation Number (``GB-PPON``), Companies House (``GB-COH``) or a charity register
(``GB-CHC``, ``GB-SC``, ``GB-NIC``; numbers normalised by :mod:`registry.names`). The
contract's ocid is the tender's own (its Find a Tender OCID when the buyer recorded one);
the platform has no ocid prefix registered with the Open Contracting Partnership, so a
tender without one gets :data:`OCID_PLACEHOLDER_PREFIX`. The ``socialPurchaseOrder`` block
is declared by the extension in ``procurement/data/ocds_extension`` (``extension.json``,
its ``release-schema.json`` patch and ``README.md``), which the API serves beside the
package.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Literal, NotRequired, TypedDict, cast, get_args

import pandas as pd
from sqlalchemy import Connection, text

from boundaries.repository import territory_name
from geo.errors import NotFoundError
from procurement.records import AuditCheckpoint, RegisterEntry
from procurement.reporting import kpis_of, register
from procurement.visibility import ANONYMOUS, spo_filter
from registry.names import company_id_of, org_id

OCDS_VERSION = "1.1"
# Not registered with the Open Contracting Partnership: a placeholder, so that a tender
# with no Find a Tender OCID still has an ocid (the same prefix the tenders module writes).
OCID_PLACEHOLDER_PREFIX = "ocds-dualimpact"
# A party with no organisation identifier: "dualimpact-organisation-<platform id>".
PLATFORM_PARTY_PREFIX = "dualimpact-organisation"
PUBLISHER = "Dual Impact register"
REGISTER_PATH = "/register/ocds"
EXTENSION_PATH = f"{REGISTER_PATH}/extension"
# The extension's files, as served under EXTENSION_PATH.
ExtensionFile = Literal["extension.json", "release-schema.json", "README.md"]
_EXTENSION = resources.files("procurement") / "data" / "ocds_extension"
# SPO status → the OCDS contract status.
_CONTRACT_STATUS = {"awarded": "active", "delivering": "active", "completed": "terminated"}

OcdsRelease = dict[str, Any]  # an OCDS 1.1 release: its schema is the standard's


class Publisher(TypedDict):
    """Who publishes a package (``uri``: where)."""

    name: str
    uri: str


class OcdsPackage(TypedDict):
    """An OCDS 1.1 release package (:func:`ocds_package`)."""

    uri: str
    version: str
    publishedDate: str
    publisher: Publisher
    extensions: list[str]
    releases: list[OcdsRelease]


class Identifier(TypedDict):
    """An organisation identifier as OCDS writes it (an org-id.guide ``scheme``)."""

    scheme: str
    id: str
    legalName: NotRequired[str]


def ocds_package(conn: Connection, base_url: str, territory: str | None = None) -> OcdsPackage:
    """The public register as an OCDS 1.1 release package.

    Parameters
    ----------
    conn
        Any connection (the package reads the public register only).
    base_url
        Where the platform is served (``https://example.org/``): the package's ``uri`` and
        the extension's URL are built from it.
    territory
        A territory's ONS code to publish only its SPOs; all territories when None.

    Returns
    -------
    OcdsPackage
        One release per awarded SPO (tags ``award`` and ``contract``), its
        ``socialPurchaseOrder`` block declared by the extension. Tender, award and contract
        all carry the tender's contract value (pounds): the platform records no bid price.
        ``publishedDate`` is the last change to what the package holds (the latest audit
        checkpoint of its SPOs), as OCDS asks of packages generated on demand.

    Raises
    ------
    NotFoundError
        Nothing is awarded yet (in ``territory``): an OCDS package holds at least one
        release.
    """
    entries = register(conn, territory)
    if not entries:
        where = f" in {territory_name(conn, territory)}" if territory else ""
        raise NotFoundError(f"no SPO has been awarded{where} yet, so there is nothing to publish")
    spo_ids = [entry["spo_id"] for entry in entries]
    contracts = _contracts(conn, spo_ids)
    commitments = kpis_of(conn, spo_ids).merge(
        _providers(conn, spo_ids), on="kpi_id", how="left", validate="one_to_one"
    )
    parties = _parties(conn, contracts, commitments)
    places = {code: territory_name(conn, code) for code in {e["territory_code"] for e in entries}}
    base = base_url.rstrip("/")
    releases = [
        _release(
            entry,
            contracts.loc[entry["spo_id"]],
            commitments[commitments["spo_id"] == entry["spo_id"]],
            parties,
            places[entry["territory_code"]],
        )
        for entry in entries
    ]
    return {
        "uri": base + REGISTER_PATH + (f"?territory={territory}" if territory else ""),
        "version": OCDS_VERSION,
        "publishedDate": max(_changed(entry) for entry in entries).isoformat(),
        "publisher": {"name": PUBLISHER, "uri": base + "/"},
        "extensions": [f"{base}{EXTENSION_PATH}/extension.json"],
        "releases": releases,
    }


def extension_file(name: ExtensionFile, base_url: str) -> str:
    """One of the extension's files, as served: ``extension.json`` with its
    ``documentationUrl`` made absolute (the extension's README under ``base_url``), the
    others as stored.

    Raises
    ------
    NotFoundError
        The extension has no such file.
    """
    if name not in get_args(ExtensionFile):
        raise NotFoundError(f"the OCDS extension has no file {name!r}")
    stored = (_EXTENSION / name).read_text(encoding="utf-8")
    if name != "extension.json":
        return stored
    metadata = json.loads(stored)
    folder = f"{base_url.rstrip('/')}{EXTENSION_PATH}/"
    metadata["documentationUrl"] = {
        language: folder + page for language, page in metadata["documentationUrl"].items()
    }
    return json.dumps(metadata, indent=2, ensure_ascii=False)


def party_identifiers(organisations: pd.DataFrame) -> pd.Series:
    """Each organisation's identifiers, best first: PPON, Companies House, then charity.

    Parameters
    ----------
    organisations
        Columns ``name``, ``ppon``, ``company_number`` and ``charity_number`` (missing
        numbers empty or null; placeholders such as ``0`` count as none).

    Returns
    -------
    pandas.Series
        A list of :class:`Identifier` per row (indexed like ``organisations``), empty for
        an organisation with no identifier; each carries the organisation's name as its
        ``legalName``.
    """
    blank = pd.Series("", index=organisations.index, dtype=object)
    ppon = organisations["ppon"].fillna("").astype(str).str.strip().str.upper()
    org_ids = pd.DataFrame(
        {
            "ppon": ("GB-PPON-" + ppon).where(ppon != "", ""),
            "company": company_id_of(organisations["company_number"]).set_axis(organisations.index),
            "charity": org_id(blank, organisations["charity_number"], blank),
        }
    )
    return pd.Series(
        [
            [_identifier(found, name) for found in row if found]
            for row, name in zip(
                org_ids.itertuples(index=False), organisations["name"], strict=True
            )
        ],
        index=organisations.index,
        dtype=object,
    )


def _identifier(org_identifier: str, legal_name: str) -> Identifier:
    """``GB-COH-06227377`` → scheme ``GB-COH``, id ``06227377`` (org-id.guide schemes are
    two parts: a country and a list)."""
    country, scheme, number = org_identifier.split("-", 2)
    return {"scheme": f"{country}-{scheme}", "id": number, "legalName": legal_name}


def _contracts(conn: Connection, spo_ids: list[int]) -> pd.DataFrame:
    """The tender behind each awarded SPO: value (pounds), notice, dates, buyer and
    supplier organisations; indexed by SPO id."""
    public, _ = spo_filter(ANONYMOUS)
    return pd.read_sql(
        text(
            f"""
            SELECT s.id AS spo_id, s.supplier_id, t.buyer_id,
                   t.contract_value_gbp::float8 AS contract_value_gbp,
                   t.social_value_weighting_pct::float8 AS social_value_weighting_pct,
                   t.notice_url, t.bid_deadline, t.contract_start
            FROM spo s JOIN tender t ON t.id = s.tender_id
            WHERE s.id = ANY(:ids) AND {public}
            """
        ),
        conn,
        params={"ids": spo_ids},
        index_col="spo_id",
    )


def _providers(conn: Connection, spo_ids: list[int]) -> pd.DataFrame:
    """Each commitment's activity and the organisation that runs it (``provider_id``,
    null when none is known), keyed by ``kpi_id`` (the commitment)."""
    public, _ = spo_filter(ANONYMOUS)
    return pd.read_sql(
        text(
            f"""
            SELECT c.id AS kpi_id, a.id AS activity_id, a.provider_id
            FROM spo s JOIN tender t ON t.id = s.tender_id
            JOIN spo_commitment c ON c.spo_id = s.id JOIN activity a ON a.id = c.activity_id
            WHERE s.id = ANY(:ids) AND {public}
            """
        ),
        conn,
        params={"ids": spo_ids},
        dtype={"provider_id": "Int64"},
    )


def _parties(
    conn: Connection, contracts: pd.DataFrame, commitments: pd.DataFrame
) -> dict[int, dict[str, Any]]:
    """Every organisation the releases name, as an OCDS party (without roles), by its
    platform id. The party ``id`` is ``<scheme>-<id>`` of its first identifier, else
    ``dualimpact-organisation-<platform id>`` (and no ``identifier``)."""
    ids = pd.concat(
        [contracts["buyer_id"], contracts["supplier_id"], commitments["provider_id"].dropna()]
    )
    organisations = pd.read_sql(
        text(
            "SELECT id, name, ppon, company_number, charity_number FROM organisation"
            " WHERE id = ANY(:ids)"
        ),
        conn,
        params={"ids": sorted({int(i) for i in ids})},
        index_col="id",
    )
    identifiers = party_identifiers(organisations)
    parties: dict[int, dict[str, Any]] = {}
    for organisation_id, name in organisations["name"].items():
        found: list[Identifier] = identifiers[organisation_id]
        party: dict[str, Any] = {"name": name}
        if found:
            party["id"] = f"{found[0]['scheme']}-{found[0]['id']}"
            party["identifier"] = found[0]
            if found[1:]:
                party["additionalIdentifiers"] = found[1:]
        else:
            party["id"] = f"{PLATFORM_PARTY_PREFIX}-{organisation_id}"
        parties[int(cast(int, organisation_id))] = party
    return parties


def _release(
    entry: RegisterEntry,
    contract: pd.Series,
    commitments: pd.DataFrame,
    parties: dict[int, dict[str, Any]],
    place: str,
) -> OcdsRelease:
    """One awarded SPO as an OCDS award-and-contract release."""
    spo = entry["spo_id"]
    ocid = entry["ocid"] or f"{OCID_PLACEHOLDER_PREFIX}-{entry['tender_id']}"
    checkpoint = entry["checkpoint"]
    buyer, supplier = parties[int(contract["buyer_id"])], parties[int(contract["supplier_id"])]
    roles: dict[str, list[str]] = {buyer["id"]: ["buyer"]}
    roles.setdefault(supplier["id"], []).append("supplier")
    providers = [int(p) for p in commitments["provider_id"].dropna().unique()]
    for provider in providers:
        roles.setdefault(parties[provider]["id"], []).append("interestedParty")
    named = {party["id"]: party for party in parties.values()}
    value = {"amount": contract["contract_value_gbp"], "currency": "GBP"}
    tender: dict[str, Any] = {
        "id": str(entry["tender_id"]),
        "title": entry["tender"],
        "status": "complete",
        "value": value,
        "tenderPeriod": {"endDate": contract["bid_deadline"].isoformat()},
        "awardCriteriaDetails": (
            f"Social value is weighted at {contract['social_value_weighting_pct']:g}% of the"
            " award (PPN 002); the winning supplier's Social Purchase Order is in"
            " socialPurchaseOrder."
        ),
    }
    if contract["notice_url"]:
        tender["documents"] = [
            {
                "id": "notice",
                "documentType": "tenderNotice",
                "title": "Contract notice",
                "url": contract["notice_url"],
            }
        ]
    award_id = f"spo-{spo}"
    return {
        "ocid": ocid,
        "id": f"{ocid}-spo-{spo}-{checkpoint['seq'] if checkpoint else 0}",
        "date": _changed(entry).isoformat(),
        "tag": ["award", "contract"],
        "initiationType": "tender",
        "language": "en",
        "parties": [{**named[party], "roles": role} for party, role in roles.items()],
        "buyer": _reference(buyer),
        "tender": tender,
        "awards": [
            {
                "id": award_id,
                "date": (entry["awarded_at"] or _changed(entry)).isoformat(),
                "status": "active",
                "value": value,
                "suppliers": [_reference(supplier)],
            }
        ],
        "contracts": [
            {
                "id": f"contract-{award_id}",
                "awardID": award_id,
                "title": entry["tender"],
                "status": _CONTRACT_STATUS[entry["status"]],
                "value": value,
                "period": {"startDate": _midnight(contract["contract_start"])},
            }
        ],
        "socialPurchaseOrder": {
            "id": str(spo),
            "status": entry["status"],
            "territory": {"id": entry["territory_code"], "name": place},
            "committedValue": {"amount": entry["committed_gbp"], "currency": "GBP"},
            "claimedValue": {"amount": entry["claimed_gbp"], "currency": "GBP"},
            "deliveredValue": {
                "amount": entry["delivered_gbp"],
                "currency": "GBP",
                "basis": "confirmed by the activity's provider",
            },
            "peopleReached": entry["people_reached"],
            "auditCheckpoint": _published(checkpoint),
            "commitments": [
                {
                    "id": str(row.kpi_id),
                    "activity": {"id": str(row.activity_id), "name": row.activity},
                    "provider": (
                        None if pd.isna(row.provider_id) else _reference(parties[row.provider_id])
                    ),
                    "description": row.kpi,
                    "kind": row.kind,
                    "target": row.target,
                    "unit": row.unit,
                    "dueDate": row.due.isoformat(),
                    "where": row.where,
                    "forWhom": row.for_whom,
                    "claimed": row.claimed,
                    "delivered": row.delivered_confirmed,
                }
                for row in commitments.itertuples()
            ],
        },
    }


def _reference(party: dict[str, Any]) -> dict[str, str]:
    """An OCDS organisation reference to a party: its id and name."""
    return {"id": party["id"], "name": party["name"]}


def _changed(entry: RegisterEntry) -> datetime:
    """When an awarded SPO last changed: its latest audit checkpoint, else its award."""
    checkpoint = entry["checkpoint"]
    if checkpoint is not None:
        return checkpoint["at"]
    return entry["awarded_at"] or datetime.now(UTC)


def _midnight(day: date) -> str:
    """A date as the OCDS date-time of its start, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def _published(checkpoint: AuditCheckpoint | None) -> dict[str, object] | None:
    """An SPO's latest audit checkpoint as the OCDS release carries it: whoever keeps the
    release can later show the chain's head at that event was this hash, MACed so."""
    if checkpoint is None:
        return None
    return {
        "seq": checkpoint["seq"],
        "headHash": checkpoint["head_hash"],
        "mac": checkpoint["mac"],
        "algorithm": "HMAC-SHA256",
        "keyId": checkpoint["key_id"],
        "date": checkpoint["at"].isoformat(),
    }
