"""Coverage analytics and folium maps (the mapping edge over the domain packages)."""

__all__ = [
    "analyst",  # the Python API for GIS analysts (GeoDataFrames)
    "assets",  # pinned map libraries, served by the app
    "coverage",  # 2SFCA reach, gap index, what-if (pure)
    "density",  # H3 density and hot spots
    "distributed",  # the dask path for national batch jobs ('distributed' extra)
    "frames",  # pandera contracts of the coverage frames
    "queries",  # what coverage reads from PostGIS
    "render",  # folium maps
    "report",  # coverage report for pages, CLI and notebooks
]
