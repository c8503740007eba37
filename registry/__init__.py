"""The registry: provider and supplier organisations, activities (with whether they are
dual-impact activities, where they are delivered and how far to trust them) and supplier
sites, their themes, and importers and exchange formats for them."""

__all__ = [
    "activities",  # the activity import: fields, preparation, upsert
    "categories",  # the dual-impact categories and the agencies each relieves
    "delivery_sites",  # where an activity is delivered, apart from its registered office
    "eligibility",  # which activities are dual-impact activities: rules with reasons
    "fields",  # canonical import fields and value parsing
    "frames",  # pandera contract of the activity frame
    "history",  # an activity's append-only history of changes
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
    "themes",  # the outcome themes and their classifier
    "trust",  # how far to trust a territory's register, in figures and words
    "upsert",  # set-based upsert of staged rows
]
