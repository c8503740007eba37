"""The FastAPI application and its routers (the web edge over the domain packages)."""

__all__ = [
    "app",  # create_app(settings)
    "deps",  # request-scoped connections, the signed-in user, shared indexes
    "errors",  # domain errors → HTTP, in one table
    "geojson",  # activities as GeoJSON, through the safeguarding rules
    "limits",  # request body size limit
    "routers",  # the endpoints
    "schemas",  # request bodies
    "security",  # security headers and the Content-Security-Policy
    "tables",  # tables as downloads (JSON, CSV, GeoJSON)
    "throttle",  # sign-in rate limits (per account, per client)
]
