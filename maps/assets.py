"""The browser libraries the app serves: Leaflet, Leaflet.markercluster and jQuery for the
maps, Leaflet.VectorGrid for the vector-tile page (/maps/tiles), Swagger UI for the API
reference at /docs, htmx for the web app's forms, and axe-core for the accessibility tests.
Each is fetched once from the npm registry with pooch (pinned versions, checked hashes) and
served by the app itself, so no page reaches a CDN (and the Content-Security-Policy can
allow scripts from the app alone); exported map files inline them instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pooch

from geo.settings import PROJECT_ROOT

VENDOR_DIR = PROJECT_ROOT / ".dualimpact" / "vendor"
STATIC_URL = "/static/vendor"


@dataclass(frozen=True)
class Library:
    name: str
    version: str
    sha256: str
    js: tuple[str, ...]
    css: tuple[str, ...]
    extra: tuple[str, ...] = ()  # other files the pages load (images, icons)
    root: str = "dist"  # the folder of the npm package that holds the files

    @property
    def files(self) -> tuple[str, ...]:
        return (*self.js, *self.css, *self.extra)

    @property
    def url(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


LEAFLET = Library(
    "leaflet",
    "1.9.4",
    "84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77",
    js=("leaflet.js",),
    css=("leaflet.css",),
    extra=(
        "images/layers.png",
        "images/layers-2x.png",
        # Leaflet draws its default marker before a folium DivIcon replaces it.
        "images/marker-icon.png",
        "images/marker-icon-2x.png",
        "images/marker-shadow.png",
    ),
)
MARKERCLUSTER = Library(
    "leaflet.markercluster",
    "1.5.3",
    "fc6b0b1d00b6c708ae54e43ee4a11ac345e41660e19f0a570190bb35babb1a1c",
    js=("leaflet.markercluster.js",),
    css=("MarkerCluster.css", "MarkerCluster.Default.css"),
)
# Draws the OGC API's Mapbox Vector Tiles on a Leaflet map (canvas renderer, bundled with
# its protobuf decoder).
VECTORGRID = Library(
    "leaflet.vectorgrid",
    "1.3.0",
    "4eaf00b9c3c80e53d59a84a9d3523f1b9ae3149e709db6fa293e9c292739ed7e",
    js=("Leaflet.VectorGrid.bundled.min.js",),
    css=(),
)
# Folium's popups build their HTML with jQuery.
JQUERY = Library(
    "jquery",
    "3.7.1",
    "68a9f787516da47c680e09c187bcbac4536b6f85d90eb882844e12919e583f53",
    js=("jquery.min.js",),
    css=(),
)
# The API reference (/docs), drawn by the app's own copy of Swagger UI.
SWAGGER_UI = Library(
    "swagger-ui-dist",
    "5.35.0",
    "1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6",
    js=("swagger-ui-bundle.js",),
    css=("swagger-ui.css",),
    extra=("favicon-32x32.png",),
    root="",
)
# Partial page updates in the web app's forms (the live ledger in the SPO builder).
HTMX = Library(
    "htmx.org",
    "2.0.8",
    "51351b2ac4b3bc065692a4dd1349a82f90bf7c526134937ccb25d3932c8ce954",
    js=("htmx.min.js",),
    css=(),
)
# The accessibility checker the browser tests run on every page (not served to people).
AXE = Library(
    "axe-core",
    "4.14.1",
    "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745",
    js=("axe.min.js",),
    css=(),
    root="",
)
LIBRARIES = (LEAFLET, MARKERCLUSTER, VECTORGRID, JQUERY, SWAGGER_UI, HTMX, AXE)


def ensure(libraries: tuple[Library, ...] = LIBRARIES, vendor_dir: Path = VENDOR_DIR) -> Path:
    """Download and unpack ``libraries`` if missing (hash-checked); returns the folder
    whose ``<name>-<version>/`` subfolders hold each library's files."""
    for library in libraries:
        target = vendor_dir / library.folder
        if all((target / f).exists() for f in library.files):
            continue
        unpacked = "/".join(part for part in ("package", library.root) if part)
        pooch.retrieve(
            library.url,
            known_hash=f"sha256:{library.sha256}",
            fname=f"{library.folder}.tgz",
            path=vendor_dir / "downloads",
            processor=pooch.Untar(
                members=[f"{unpacked}/{f}" for f in library.files],
                extract_dir=str(target.resolve()),
            ),
            progressbar=False,
        )
        for path in (target / unpacked).rglob("*"):
            if path.is_file():
                destination = target / path.relative_to(target / unpacked)
                destination.parent.mkdir(parents=True, exist_ok=True)
                path.replace(destination)
    return vendor_dir


def served_url(library: Library, file: str, base_url: str = STATIC_URL) -> str:
    """Where the app serves one of ``library``'s files."""
    return f"{base_url}/{library.folder}/{file}"


def links(
    library: Library, base_url: str = STATIC_URL
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(js, css) links to a library served under ``base_url``, as folium lists them."""
    return (
        [
            (f"{library.name}_{n}", served_url(library, f, base_url))
            for n, f in enumerate(library.js)
        ],
        [
            (f"{library.name}_css_{n}", served_url(library, f, base_url))
            for n, f in enumerate(library.css)
        ],
    )


def inline(library: Library, vendor_dir: Path = VENDOR_DIR) -> tuple[str, str]:
    """The library's JS and CSS as text, for a self-contained exported file."""
    folder = ensure((library,), vendor_dir) / library.folder
    js = "\n".join((folder / f).read_text(encoding="utf-8") for f in library.js)
    css = "\n".join((folder / f).read_text(encoding="utf-8") for f in library.css)
    return js, css
