"""The register as OCDS: a release package that validates against the OCDS 1.1 schemas
(with the Social Purchase Order extension's patch), names parties by their organisation
identifiers, carries the contract's real OCID, and publishes nothing before award."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import Engine, text

from procurement import ocds
from tests.api.helpers import Accounts, World, close_bidding, commitment, tender_body

RELEASE_ID = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
EXTENSION = Path(ocds.__file__).parent / "data" / "ocds_extension"
# Find a Tender's ocid prefix (h6vhtk) and a notice of it: what a buyer records.
REAL_OCID = "ocds-h6vhtk-04f1b2"
NOTICE = "https://www.find-tender.service.gov.uk/Notice/012345-2026"
HOSTILE = "</script><script>alert(1)</script> ${alert(2)} `x`"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _formats() -> FormatChecker:
    """Draft 4's formats as OCDS uses them, checked without optional packages: ``uri`` an
    absolute URL, ``date-time`` ISO 8601 with a time zone."""
    checker = FormatChecker(formats=())

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        parts = urlsplit(str(value))
        return bool(parts.scheme and parts.netloc)

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        return datetime.fromisoformat(str(value)).tzinfo is not None

    return checker


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: how an OCDS extension's ``release-schema.json`` applies."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


@pytest.fixture(scope="module")
def schemas(data_dir: Path) -> tuple[Draft4Validator, Draft4Validator]:
    """Validators of the package (OCDS 1.1) and of a release (OCDS 1.1 + the extension)."""
    standard = data_dir / "standards" / "ocds-1.1"
    release = json.loads((standard / "release-schema.json").read_text())
    package = json.loads((standard / "release-package-schema.json").read_text())
    registry: Registry[Any] = Registry().with_resource(
        RELEASE_ID, Resource.from_contents(release, default_specification=DRAFT4)
    )
    extended = merge_patch(release, json.loads((EXTENSION / "release-schema.json").read_text()))
    Draft4Validator.check_schema(extended)
    return (
        Draft4Validator(package, registry=registry, format_checker=_formats()),
        Draft4Validator(extended, format_checker=_formats()),
    )


def _problems(validator: Draft4Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


@pytest.fixture
def identified(engine: Engine, accounts: Accounts) -> Iterator[None]:
    """The supplier has a PPON and a company number (written as a file gives it), the
    provider a charity number; the buyer has no identifier at all."""
    numbers: dict[str, dict[str, str | None]] = {
        "supplier_a": {"ppon": " pdjn-1234-wxyz ", "company_number": "6227377"},
        "provider": {"ppon": None, "company_number": None, "charity_number": "1143789"},
    }
    with engine.begin() as conn:
        for persona, columns in numbers.items():
            conn.execute(
                text(
                    "UPDATE organisation SET "
                    + ", ".join(f"{column} = :{column}" for column in columns)
                    + " WHERE id = :id"
                ),
                {**columns, "id": accounts.organisations[persona]},
            )
    yield
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE organisation SET ppon = NULL, company_number = NULL,"
                " charity_number = NULL WHERE id = ANY(:ids)"
            ),
            {"ids": [accounts.organisations[p] for p in numbers]},
        )


def _awarded(
    client: TestClient,
    engine: Engine,
    accounts: Accounts,
    world: World,
    what: str = "Pay for a season of coached sessions and kit",
) -> tuple[int, int, int]:
    """A tender awarded to supplier_a's SPO, with a losing bid from supplier_b: (tender,
    winning SPO, its commitment)."""
    lead = accounts.headers("tvp_lead")
    tender = _ok(client.post("/tenders", json=tender_body(), headers=lead), 201)["id"]
    spos = {}
    for persona, text_of_bid in (("supplier_a", what), ("supplier_b", "LOSING-BID-SECRET")):
        headers = accounts.headers(persona)
        body = {
            "summary": f"{persona} SPO",
            "commitments": [commitment(world.youth_club, 2_000, what=text_of_bid)],
        }
        spos[persona] = _ok(
            client.post(f"/tenders/{tender}/spos", json=body, headers=headers), 201
        )["id"]
        _ok(client.post(f"/spos/{spos[persona]}/submit", headers=headers))
    close_bidding(engine, tender)  # the deadline passes: evaluation opens
    for spo in spos.values():
        _ok(client.post(f"/spos/{spo}/score", json={}, headers=lead))
    awarded = _ok(client.post(f"/spos/{spos['supplier_a']}/award", headers=lead))
    return tender, spos["supplier_a"], awarded["commitments"][0]["id"]


def test_the_package_validates_against_ocds_and_the_extension(
    client: TestClient,
    engine: Engine,
    accounts: Accounts,
    world: World,
    identified: None,
    schemas: tuple[Draft4Validator, Draft4Validator],
) -> None:
    tender, spo, commitment_id = _awarded(client, engine, accounts, world, what=HOSTILE)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tender SET ocid = :ocid, notice_url = :notice WHERE id = :id"),
            {"ocid": REAL_OCID, "notice": NOTICE, "id": tender},
        )
    package_schema, release_schema = schemas

    package = _ok(client.get("/register/ocds?territory=E23000029"))
    assert _problems(package_schema, package) == []
    (release,) = package["releases"]
    assert _problems(release_schema, release) == []

    # Package metadata: where it is published, when its contents last changed, by whom.
    assert package["uri"] == "http://testserver/register/ocds?territory=E23000029"
    assert package["publisher"] == {"name": "Dual Impact register", "uri": "http://testserver/"}
    checkpoint = release["socialPurchaseOrder"]["auditCheckpoint"]
    assert package["publishedDate"] == checkpoint["date"] == release["date"]
    # The contract's real OCID, its notice, and a release id unique to this snapshot.
    assert release["ocid"] == REAL_OCID
    assert release["id"] == f"{REAL_OCID}-spo-{spo}-{checkpoint['seq']}"
    assert release["tender"]["documents"][0]["url"] == NOTICE
    assert release["tag"] == ["award", "contract"]
    assert release["tender"]["value"] == {"amount": 2_000_000, "currency": "GBP"}

    # Parties by organisation identifier, never by name; references point at them.
    parties = {party["id"]: party for party in release["parties"]}
    buyer_id = f"dualimpact-organisation-{accounts.organisations['tvp_lead']}"
    assert set(parties) == {buyer_id, "GB-PPON-PDJN-1234-WXYZ", "GB-CHC-1143789"}
    supplier = parties["GB-PPON-PDJN-1234-WXYZ"]
    assert supplier["identifier"] == {
        "scheme": "GB-PPON",
        "id": "PDJN-1234-WXYZ",
        "legalName": "Acme Facilities Ltd",
    }
    assert supplier["additionalIdentifiers"] == [
        {"scheme": "GB-COH", "id": "06227377", "legalName": "Acme Facilities Ltd"}
    ]
    assert supplier["roles"] == ["supplier"]
    assert parties[buyer_id]["roles"] == ["buyer"] and "identifier" not in parties[buyer_id]
    assert parties["GB-CHC-1143789"]["roles"] == ["interestedParty"]
    assert release["buyer"] == {"id": buyer_id, "name": "Thames Valley Police"}
    assert release["awards"][0]["suppliers"] == [
        {"id": "GB-PPON-PDJN-1234-WXYZ", "name": "Acme Facilities Ltd"}
    ]
    assert release["contracts"][0]["awardID"] == release["awards"][0]["id"]

    # The SPO block, with text as the supplier wrote it (JSON, not HTML: nothing escaped).
    block = release["socialPurchaseOrder"]
    assert block["territory"] == {"id": "E23000029", "name": "Thames Valley"}
    (promised,) = block["commitments"]
    assert promised["id"] == str(commitment_id) and promised["description"] == HOSTILE
    assert promised["activity"] == {"id": str(world.youth_club), "name": "Cowley youth football"}
    assert promised["provider"] == {"id": "GB-CHC-1143789", "name": "Oxford Youth Trust"}

    # A losing bid is never published; a new step of the SPO is a new release.
    assert "LOSING-BID-SECRET" not in json.dumps(package)
    _ok(
        client.post(
            f"/commitments/{commitment_id}/deliveries",
            json={"money_paid_gbp": 500},
            headers=accounts.headers("supplier_a"),
        ),
        201,
    )
    (later,) = _ok(client.get("/register/ocds"))["releases"]
    assert later["id"] != release["id"] and later["date"] > release["date"]
    assert later["socialPurchaseOrder"]["claimedValue"]["amount"] == 500
    assert _problems(release_schema, later) == []


def test_the_extension_is_served_where_the_package_says(
    client: TestClient, engine: Engine, accounts: Accounts, world: World
) -> None:
    _awarded(client, engine, accounts, world)
    (url,) = _ok(client.get("/register/ocds"))["extensions"]
    assert url == "http://testserver/register/ocds/extension/extension.json"

    metadata = _ok(client.get(url))
    assert metadata["compatibility"] == ["1.1"] and metadata["name"]["en"]
    assert metadata["description"]["en"]
    documentation = metadata["documentationUrl"]["en"]
    assert documentation == "http://testserver/register/ocds/extension/README.md"
    assert "socialPurchaseOrder" in client.get(documentation).text
    for schema in metadata["schemas"]:
        served = _ok(client.get(url.rsplit("/", 1)[0] + "/" + schema))
        assert served == json.loads((EXTENSION / schema).read_text())
    assert client.get("/register/ocds/extension/secrets.json").status_code == 422
    assert client.get("/register/ocds/extension/..%2F..%2Focds.py").status_code in (404, 422)


def test_nothing_before_award_reaches_the_package(
    client: TestClient, engine: Engine, accounts: Accounts, world: World
) -> None:
    headers = accounts.headers("supplier_a")
    tender = _ok(
        client.post("/tenders", json=tender_body(), headers=accounts.headers("tvp_lead")), 201
    )["id"]
    body = {
        "summary": "SEALED-BID-SUMMARY",
        "commitments": [commitment(world.youth_club, what="SEALED-BID-TEXT")],
    }
    spo = _ok(client.post(f"/tenders/{tender}/spos", json=body, headers=headers), 201)["id"]
    _ok(client.post(f"/spos/{spo}/submit", headers=headers))

    # A package holds at least one release: with nothing awarded there is none to give.
    response = client.get("/register/ocds")
    assert response.status_code == 404
    assert "no SPO has been awarded yet" in response.text and "SEALED" not in response.text
    response = client.get("/register/ocds?territory=E23000029")
    assert response.status_code == 404 and "in Thames Valley" in response.text

    # Another tender is awarded: only its SPO is in the package, not the sealed bid.
    _awarded(client, engine, accounts, world)
    package = client.get("/register/ocds").text
    assert "SEALED" not in package and "LOSING-BID-SECRET" not in package


def test_a_body_with_no_identifier_gets_the_platform_id_never_its_name(
    client: TestClient, engine: Engine, accounts: Accounts, world: World
) -> None:
    with engine.begin() as conn:  # placeholders are no identifier
        conn.execute(
            text("UPDATE organisation SET company_number = '0', ppon = '  ' WHERE id = :id"),
            {"id": accounts.organisations["supplier_a"]},
        )
    try:
        _awarded(client, engine, accounts, world)
        (release,) = _ok(client.get("/register/ocds"))["releases"]
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE organisation SET company_number = NULL, ppon = NULL WHERE id = :id"),
                {"id": accounts.organisations["supplier_a"]},
            )
    supplier = f"dualimpact-organisation-{accounts.organisations['supplier_a']}"
    assert release["awards"][0]["suppliers"] == [{"id": supplier, "name": "Acme Facilities Ltd"}]
    assert all("Acme" not in party["id"] for party in release["parties"])


@pytest.mark.parametrize(
    ("charity", "expected"),
    [
        ("SC036733", {"scheme": "GB-SC", "id": "SC036733"}),
        ("NIC100859", {"scheme": "GB-NIC", "id": "100859"}),
        ("1143789", {"scheme": "GB-CHC", "id": "1143789"}),
    ],
)
def test_charity_numbers_take_their_register_scheme(charity: str, expected: dict[str, str]) -> None:
    frame = pd.DataFrame(
        {"name": ["A Trust"], "ppon": [None], "company_number": [None], "charity_number": [charity]}
    )
    (found,) = ocds.party_identifiers(frame)
    assert found == [{**expected, "legalName": "A Trust"}]
