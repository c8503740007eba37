"""Coverage analytics and folium maps (the mapping edge over the domain packages)."""

__all__ = [
    "analyst",  # the Python API for GIS analysts (GeoDataFrames)
    "assets",  # pinned map libraries, served by the app
    "board_report",  # the printable territory report (HTML; PDF via the CLI)
    "coverage",  # 2SFCA reach, gap index, what-if (pure)
    "density",  # H3 density and hot spots
    "distributed",  # the dask path for national batch jobs ('distributed' extra)
    "features",  # OGC API collections and vector tiles (SQL)
    "frames",  # pandera contracts of the coverage frames
    "places",  # place and postcode search for the community page
    "queries",  # what coverage reads from PostGIS
    "render",  # folium maps
    "report",  # coverage report for pages, CLI and notebooks
]
