"""Standard GIS access: the OGC API (Features and Tiles) read by the API and by a real
client (GDAL's ``ogrinfo``/``ogr2ogr``), the GeoPackage and GeoParquet downloads, and the
confidentiality rule in every collection and tile."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Engine, text

from geo import hexes
from maps import features, render, report
from tests.api.helpers import TVP, Accounts, World, close_bidding, commitment, tender_body

OXFORD = (-1.2577, 51.7520)  # lon, lat
HOSTILE = '</script><script>alert(1)</script> "><img src=x onerror=alert(2)> ${alert(3)}'
OGRINFO = shutil.which("ogrinfo")
needs_gdal = pytest.mark.skipif(OGRINFO is None, reason="GDAL's gdal-bin is not installed")


@dataclass(frozen=True)
class Bids:
    awarded: int  # an awarded SPO (public): supplier_a → youth club
    submitted: int  # a sealed bid (never public): supplier_b → food bank


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The WebMercatorQuad (x, y) of the tile holding a point (the slippy-map formula)."""
    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _site(engine: Engine, supplier: int, name: str, lon: float, lat: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO supplier_site (source_key, source, supplier_id, name, geom,
                    location_precision, territory_id)
                SELECT :key, 'test-ogc', :org, :name, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
                       'postcode', t.id
                FROM current_territory t WHERE t.code = :territory
                """
            ),
            {
                "key": f"test-ogc:{name}",
                "org": supplier,
                "name": name,
                "lon": lon,
                "lat": lat,
                "territory": TVP,
            },
        )


@pytest.fixture
def bids(engine: Engine, accounts: Accounts, world: World, client: TestClient) -> Bids:
    """A hostile activity name, supplier sites for both suppliers, an awarded SPO and a
    submitted (sealed) one."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM supplier_site WHERE source = 'test-ogc'"))
        conn.execute(
            text("UPDATE activity SET name = :name WHERE id = :id"),
            {"name": f"Youth club {HOSTILE}", "id": world.youth_club},
        )
    orgs = accounts.organisations
    _site(engine, orgs["supplier_a"], "Acme depot", -1.2299, 51.7437)
    _site(engine, orgs["supplier_b"], "Beta yard", -1.2400, 51.7600)
    lead = accounts.headers("tvp_lead")
    awarded_tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    sealed_tender = client.post("/tenders", json=tender_body(), headers=lead).json()["id"]
    awarded = client.post(
        f"/tenders/{awarded_tender}/spos",
        json={"summary": "Cleaning", "commitments": [commitment(world.youth_club, 3_000)]},
        headers=accounts.headers("supplier_a"),
    ).json()["id"]
    submitted = client.post(
        f"/tenders/{sealed_tender}/spos",
        json={"summary": "Building", "commitments": [commitment(world.food_bank, 2_000)]},
        headers=accounts.headers("supplier_b"),
    ).json()["id"]
    assert client.post(
        f"/spos/{submitted}/submit", json={}, headers=accounts.headers("supplier_b")
    ).is_success
    steps = (("submit", "supplier_a"), ("score", "tvp_lead"), ("award", "tvp_lead"))
    for step, who in steps:
        if step == "score":
            close_bidding(client, awarded_tender)
        response = client.post(f"/spos/{awarded}/{step}", json={}, headers=accounts.headers(who))
        assert response.status_code == 200, response.text
    return Bids(awarded, submitted)


def expected_counts(engine: Engine) -> dict[str, int]:
    """How many features each collection should hold, counted straight from the database
    (and, for the hexagons, from the coverage report)."""
    with engine.connect() as conn:
        count = {
            name: conn.execute(text(query)).scalar_one()
            for name, query in {
                "territories": "SELECT count(*) FROM current_territory",
                "need_areas": "SELECT count(*) FROM current_need_area",
                "activities": "SELECT count(*) FROM activity_placed WHERE trusted",
                "supplier_sites": "SELECT count(*) FROM supplier_site_placed",
                "awarded_spo_links": "SELECT count(*) FROM spo_commitment c JOIN spo s "
                "ON s.id = c.spo_id WHERE s.status IN ('awarded', 'delivering', 'completed')",
            }.items()
        }
        found = report.build(conn)
        count["coverage_hexagons"] = len(render.need_hexagons(found.areas))
        count["coverage_areas"] = len(found.areas)
    return count


def test_the_landing_page_links_conformance_and_collections_with_attribution(
    client: TestClient,
) -> None:
    landing = client.get("/ogc/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels
    assert "Open Government Licence" in landing["attribution"]
    assert client.get("/ogc").json() == landing


def test_conformance_lists_features_and_tiles_classes(client: TestClient) -> None:
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    for part in (
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-1/1.0/conf/geojson",
        "ogcapi-tiles-1/1.0/conf/core",
        "ogcapi-tiles-1/1.0/conf/mvt",
    ):
        assert any(c.endswith(part) for c in classes), part


def test_every_collection_is_valid_geojson_with_the_database_counts(
    client: TestClient, engine: Engine, bids: Bids
) -> None:
    listed = client.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in listed] == list(features.COLLECTIONS)
    counts = expected_counts(engine)
    for described in listed:
        cid = described["id"]
        assert described["attribution"] in described["description"]
        response = client.get(f"/ogc/collections/{cid}/items", params={"limit": 50})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/geo+json")
        page = response.json()
        assert page["type"] == "FeatureCollection"
        assert page["numberMatched"] == counts[cid] > 0, cid
        assert page["numberReturned"] == len(page["features"]) == min(50, counts[cid])
        for feature in page["features"]:
            assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
            if feature["geometry"] is not None:
                assert shape(feature["geometry"]).is_valid, (cid, feature["id"])
        one = page["features"][0]
        alone = client.get(f"/ogc/collections/{cid}/items/{one['id']}").json()
        assert alone["properties"] == one["properties"]


def test_items_page_on_with_next_links_and_keep_to_a_bbox(client: TestClient) -> None:
    first = client.get("/ogc/collections/territories/items", params={"limit": 20}).json()
    (following,) = [link["href"] for link in first["links"] if link["rel"] == "next"]
    second = client.get(following).json()
    assert {f["id"] for f in first["features"]}.isdisjoint(f["id"] for f in second["features"])
    near_oxford = client.get(
        "/ogc/collections/territories/items", params={"bbox": "-1.30,51.70,-1.20,51.80"}
    ).json()
    assert TVP in {f["id"] for f in near_oxford["features"]}
    assert near_oxford["numberMatched"] < first["numberMatched"]
    bad = client.get("/ogc/collections/territories/items", params={"bbox": "1,2,3"})
    assert bad.status_code == 422 and "west,south,east,north" in bad.text
    assert client.get("/ogc/collections/nothing_here").status_code == 404


def test_hexagons_are_named_by_their_hexadecimal_h3_cell(client: TestClient, bids: Bids) -> None:
    page = client.get("/ogc/collections/coverage_hexagons/items", params={"limit": 5}).json()
    for feature in page["features"]:
        assert re.fullmatch(r"[0-9a-f]{15}", feature["id"])
        assert feature["properties"]["h3"] == feature["id"]
        assert 0 <= feature["properties"]["gap_index"] <= 1
    oxford = hexes.label(int(hexes.cells([OXFORD[1]], [OXFORD[0]], render.NEED_RESOLUTION)[0]))
    assert oxford in {f["properties"]["h3"] for f in _tile(client, "coverage_hexagons")}
    near = client.get(
        "/ogc/collections/coverage_hexagons/items", params={"bbox": "-1.27,51.74,-1.25,51.76"}
    ).json()
    assert oxford in {f["id"] for f in near["features"]}


def _tile(client: TestClient, cid: str, zoom: int = 10) -> list[dict[str, Any]]:
    x, y = tile_of(*OXFORD, zoom)
    response = client.get(f"/ogc/collections/{cid}/tiles/WebMercatorQuad/{zoom}/{x}/{y}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    found: list[dict[str, Any]] = decoded[cid]["features"] if cid in decoded else []
    return found


def test_a_vector_tile_holds_the_territory_it_covers(client: TestClient) -> None:
    codes = {f["properties"]["code"] for f in _tile(client, "territories", zoom=8)}
    assert TVP in codes
    tileset = client.get("/ogc/collections/territories/tiles/WebMercatorQuad").json()
    assert tileset["tileMatrixSetURI"].endswith("WebMercatorQuad")
    tilejson = client.get("/ogc/collections/territories/tiles/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tiles"][0].endswith("/territories/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert client.get("/ogc/collections/territories/tiles/WebMercatorQuad/2/9/0").status_code == 422


def test_a_submitted_spo_is_in_no_collection_and_no_tile(
    client: TestClient, engine: Engine, bids: Bids, world: World
) -> None:
    for cid in features.COLLECTIONS:
        page = client.get(f"/ogc/collections/{cid}/items", params={"limit": 10_000}).json()
        spo_ids = {f["properties"].get("spo_id") for f in page["features"]}
        assert bids.submitted not in spo_ids, cid
        tiled = {f["properties"].get("spo_id") for f in _tile(client, cid)}
        assert bids.submitted not in tiled, cid
    links = client.get("/ogc/collections/awarded_spo_links/items").json()["features"]
    assert [(f["properties"]["spo_id"], f["properties"]["activity_id"]) for f in links] == [
        (bids.awarded, world.youth_club)
    ]
    assert links[0]["geometry"]["type"] == "LineString"
    assert [f["properties"]["spo_id"] for f in _tile(client, "awarded_spo_links")] == [bids.awarded]
    for fmt in ("gpkg", "parquet"):
        download = client.get(f"/ogc/collections/awarded_spo_links/items?f={fmt}")
        assert download.status_code == 200
        assert b"Beta" not in download.content  # the sealed bidder's name


def test_a_safeguarded_activity_has_no_point_anywhere(
    client: TestClient, bids: Bids, world: World
) -> None:
    refuge = client.get(f"/ogc/collections/activities/items/{world.refuge}").json()
    assert refuge["geometry"] is None
    assert refuge["properties"]["location_withheld"] is True
    assert " " not in refuge["properties"]["postcode"]  # its district only
    assert world.refuge not in {f["properties"]["id"] for f in _tile(client, "activities")}


def test_a_hostile_name_stays_data(client: TestClient, bids: Bids, world: World) -> None:
    feature = client.get(f"/ogc/collections/activities/items/{world.youth_club}").json()
    assert feature["properties"]["name"] == f"Youth club {HOSTILE}"
    tiled = {f["properties"]["id"]: f["properties"]["name"] for f in _tile(client, "activities")}
    assert tiled[world.youth_club] == f"Youth club {HOSTILE}"


def test_geoparquet_downloads_read_back_in_epsg_4326(client: TestClient, engine: Engine) -> None:
    response = client.get("/ogc/collections/territories/items?f=parquet")
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert 'filename="territories.parquet"' in response.headers["content-disposition"]
    frame = gpd.read_parquet(io.BytesIO(response.content))
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == expected_counts(engine)["territories"] and TVP in set(frame["code"])
    areas = client.get("/coverage/areas", params={"territory": TVP, "format": "parquet"})
    points = gpd.read_parquet(io.BytesIO(areas.content))
    assert points.crs.to_epsg() == 4326 and (points.geometry.geom_type == "Point").all()
    no_points = client.get("/coverage/territories", params={"format": "gpkg"})
    assert no_points.status_code == 422 and "no points" in no_points.text


def _ogrinfo(*args: str) -> str:
    assert OGRINFO is not None
    done = subprocess.run(
        [OGRINFO, "-ro", "-so", *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_gdal
def test_gdal_reads_every_collection_through_the_ogc_api(
    live_url: str, engine: Engine, bids: Bids
) -> None:
    listing = _ogrinfo(f"OAPIF:{live_url}/ogc")
    for cid in features.COLLECTIONS:
        assert re.search(rf"^\d+: {cid}\b", listing, re.MULTILINE), listing
    for cid, count in expected_counts(engine).items():
        summary = _ogrinfo(f"OAPIF:{live_url}/ogc", cid)
        assert f"Feature Count: {count}\n" in summary, (cid, summary)


@needs_gdal
def test_gdal_reads_the_geopackage_downloads(
    client: TestClient, engine: Engine, bids: Bids, tmp_path: Path
) -> None:
    counts = expected_counts(engine)
    for cid in ("territories", "activities", "awarded_spo_links"):
        response = client.get(f"/ogc/collections/{cid}/items?f=gpkg")
        assert response.headers["content-type"] == "application/geopackage+sqlite3"
        path = tmp_path / f"{cid}.gpkg"
        path.write_bytes(response.content)
        summary = _ogrinfo(str(path), cid)
        assert f"Feature Count: {counts[cid]}\n" in summary
        assert 'EPSG",4326' in summary or "WGS 84" in summary
    converted = tmp_path / "activities.geojson"
    subprocess.run(
        ["ogr2ogr", "-f", "GeoJSON", str(converted), str(tmp_path / "activities.gpkg")],
        check=True,
        timeout=120,
    )
    assert "Youth club" in converted.read_text(encoding="utf-8")
    areas = client.get("/coverage/areas", params={"territory": TVP, "format": "gpkg"})
    (tmp_path / "areas.gpkg").write_bytes(areas.content)
    assert "Feature Count:" in _ogrinfo(str(tmp_path / "areas.gpkg"), f"coverage-{TVP}")


def test_small_areas_carry_their_gap_as_polygons_in_tiles(
    client: TestClient, engine: Engine
) -> None:
    """The small-area choropleth: an Oxford LSOA's tile feature is its polygon, with the
    gap the coverage report computed for it; a Scottish area stays a point."""
    with engine.connect() as conn:
        areas = report.build(conn).areas.set_index("code")
        (inside,) = conn.execute(
            text(
                "SELECT n.code FROM current_need_area n JOIN need_area_shape s"
                " ON s.need_area_id = n.id"
                " WHERE ST_Covers(s.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
            ),
            {"lon": OXFORD[0], "lat": OXFORD[1]},
        ).one()
    by_code = {f["properties"]["code"]: f for f in _tile(client, "coverage_areas", zoom=12)}
    feature = by_code[inside]
    assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert feature["properties"]["drawn_as"] == "polygon"
    assert feature["properties"]["gap_index"] == pytest.approx(areas.loc[inside, "gap"])
    scottish = client.get(
        "/ogc/collections/coverage_areas/items", params={"bbox": "-3.25,55.9,-3.15,55.97"}
    ).json()["features"]
    assert scottish and {f["geometry"]["type"] for f in scottish} == {"Point"}
