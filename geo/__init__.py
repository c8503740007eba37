"""Shared geospatial foundations: settings, database, schema, CRS helpers."""
