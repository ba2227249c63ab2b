"""Typer commands: thin layers over the Python API."""
