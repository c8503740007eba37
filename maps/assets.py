"""The map libraries (Leaflet, Leaflet.markercluster and jQuery), fetched once from the npm
registry with pooch (pinned versions, checked hashes) and served by the app itself, so the
pages draw without reaching any CDN; exported map files inline them instead.
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
)
MARKERCLUSTER = Library(
    "leaflet.markercluster",
    "1.5.3",
    "fc6b0b1d00b6c708ae54e43ee4a11ac345e41660e19f0a570190bb35babb1a1c",
    js=("leaflet.markercluster.js",),
    css=("MarkerCluster.css", "MarkerCluster.Default.css"),
)
# Folium's popups build their HTML with jQuery.
JQUERY = Library(
    "jquery",
    "3.7.1",
    "68a9f787516da47c680e09c187bcbac4536b6f85d90eb882844e12919e583f53",
    js=("jquery.min.js",),
    css=(),
)
LIBRARIES = (LEAFLET, MARKERCLUSTER, JQUERY)


def ensure(vendor_dir: Path = VENDOR_DIR) -> Path:
    """Download and unpack the libraries if missing (hash-checked); returns the folder
    whose ``<name>-<version>/`` subfolders hold each library's ``dist`` files."""
    for library in LIBRARIES:
        target = vendor_dir / library.folder
        if (target / library.js[0]).exists():
            continue
        pooch.retrieve(
            library.url,
            known_hash=f"sha256:{library.sha256}",
            fname=f"{library.folder}.tgz",
            path=vendor_dir / "downloads",
            processor=pooch.Untar(
                members=[f"package/dist/{f}" for f in (*library.js, *library.css)]
                + (
                    ["package/dist/images/layers.png", "package/dist/images/layers-2x.png"]
                    if library is LEAFLET
                    else []
                ),
                extract_dir=str(target.resolve()),
            ),
            progressbar=False,
        )
        for path in (target / "package" / "dist").rglob("*"):
            if path.is_file():
                destination = target / path.relative_to(target / "package" / "dist")
                destination.parent.mkdir(parents=True, exist_ok=True)
                path.replace(destination)
    return vendor_dir


def links(
    library: Library, base_url: str = STATIC_URL
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(js, css) links to a library served under ``base_url``, as folium lists them."""
    root = f"{base_url}/{library.folder}"
    return (
        [(f"{library.name}_{n}", f"{root}/{f}") for n, f in enumerate(library.js)],
        [(f"{library.name}_css_{n}", f"{root}/{f}") for n, f in enumerate(library.css)],
    )


def inline(library: Library, vendor_dir: Path = VENDOR_DIR) -> tuple[str, str]:
    """The library's JS and CSS as text, for a self-contained exported file."""
    folder = ensure(vendor_dir) / library.folder
    js = "\n".join((folder / f).read_text(encoding="utf-8") for f in library.js)
    css = "\n".join((folder / f).read_text(encoding="utf-8") for f in library.css)
    return js, css
