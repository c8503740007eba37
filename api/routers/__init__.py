"""The API's routers, one per area; each only translates HTTP to domain calls."""
