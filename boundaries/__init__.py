"""Territories and need areas: boundary generations, reading and storing them, the
postcode gazetteer, locating points, and territory overviews."""

__all__ = [
    "frames",  # pandera contracts of the frames other packages read
    "gazetteer",  # the postcode gazetteer (load, look up)
    "generations",  # which boundary generation is current
    "locate",  # point → territory and need area, in memory
    "read",  # read and validate boundary files
    "repository",  # read territories and need areas back (current generation)
    "sources",  # the generations the platform ships with
    "store",  # write boundary generations, all or nothing
    "tables",  # this package's tables and vocabularies
]
