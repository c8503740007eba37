"""Territories and need areas: reading, storing, locating points, and overviews."""
