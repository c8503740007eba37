"""The base layer: settings, the database and the shared table metadata, geocoding, CRS
and H3 helpers. It imports no domain package (``tests/test_architecture.py``)."""

__all__ = [
    "attribution",  # licence texts that travel with the data
    "backup",  # pg_dump / pg_restore of the whole database
    "bulk",  # COPY reads and writes
    "crs",  # EPSG:4326 ↔ EPSG:27700 and the UK extent
    "db",  # engines, connection checks
    "errors",  # domain errors (mapped to HTTP once, in api.errors)
    "extras",  # optional dependencies, with the extra to install
    "geocode",  # postcodes or coordinates → point, territory, need area
    "geocode_csv",  # a CSV end to end
    "hexes",  # H3 cells as int64
    "jsonable",  # plain JSON from pandas/numpy values
    "localdb",  # the project's own PostgreSQL cluster
    "metadata",  # the one MetaData every package declares its tables on
    "migrate",  # Alembic, programmatically
    "postcodes",  # normalise and validate postcodes
    "roles",  # least privilege: the owner and app roles and their grants
    "settings",  # typed settings from the environment
]
