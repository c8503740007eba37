"""The FastAPI application and its routers (the web edge over the domain packages)."""
