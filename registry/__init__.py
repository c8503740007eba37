"""The registry: provider and supplier organisations, activities and supplier sites, their
themes, and importers and exchange formats for them."""

__all__ = [
    "activities",  # the activity import: fields, preparation, upsert
    "fields",  # canonical import fields and value parsing
    "frames",  # pandera contract of the activity frame
    "importer",  # the import pipeline shared by activities and suppliers
    "layouts",  # file layouts recognised without a mapping
    "merge",  # fold duplicate rows of one file
    "names",  # organisation names and identifiers, normalised
    "oruk",  # Open Referral UK exchange
    "placement",  # re-place records on new boundaries
    "privacy",  # safeguarding: what may be shown
    "queries",  # read and change registry records
    "readers",  # CSV, XLSX, GeoJSON, JSON as text columns
    "records",  # one activity registered at a time
    "suppliers",  # the supplier-site import
    "tables",  # this package's tables and vocabularies
    "themes",  # the dual-impact themes and the classifier
    "upsert",  # set-based upsert of staged rows
]
