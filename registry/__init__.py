"""The registry: provider and supplier organisations, activities and supplier sites, their
themes, and importers and exchange formats for them."""
