"""The HTTP API (FastAPI): ``create_app``; its services are shared with the web page."""
