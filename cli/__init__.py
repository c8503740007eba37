"""The ``dualimpact`` command line (an edge over the domain packages, like ``api``)."""

__all__ = [
    "boundaries",  # load geography and postcodes, locate, geocode, territories
    "common",  # console, engines, shared options
    "db",  # start, upgrade, revision
    "main",  # the entry point
    "maps",  # coverage and maps
    "matching",  # recommend, weights, allocate, impact
    "procurement",  # tenders, SPOs, audit
    "registry",  # import, export, look after activities
]
