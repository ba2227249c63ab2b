"""``warexempt serve``: the web page and the HTTP API in one process (uvicorn), on SQLite unless ``--db`` says.

The site (``warexempt.web.app.create_site``) is the API with the pages beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from warexempt.cli.app import N_, app
from warexempt.cli.i18n import in_lang

if TYPE_CHECKING:
    from fastapi import FastAPI

N_("Serving on {url} (Ctrl-C to stop)")
N_("The register is {db}; to sign in at {url}cases, make a token: warexempt users add NAME --org ORG --role editor")


def site(db_url: str | None) -> FastAPI:
    """The pages and the API."""
    from warexempt.web.app import create_site

    return create_site(db_url)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="The address to listen on (default: this machine only).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="The port to listen on.", min=1, max=65535)] = 8000,
    db: Annotated[
        str | None, typer.Option("--db", help="The register's database URL (default: a SQLite file of this user).")
    ] = None,
) -> None:
    """Serve the web page and the HTTP API (/api/v1/, /openapi.json)."""
    import uvicorn

    from warexempt.cli.i18n import current
    from warexempt.explain.i18n import gettext

    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    typer.echo(gettext(current(), "Serving on {url} (Ctrl-C to stop)", url=url), err=True)
    from warexempt.register.db import default_url

    shown = db or default_url()
    hint = (
        "The register is {db}; to sign in at {url}cases, make a token: warexempt users add NAME --org ORG --role editor"
    )
    typer.echo(gettext(current(), hint, db=shown, url=url), err=True)
    from warexempt.api.batch import default_processes

    served = site(db)
    served.state.batcher.use_processes(default_processes())  # /check's batches decided beside the event loop
    try:
        uvicorn.run(served, host=host, port=port, log_level="warning", access_log=False)
    except OSError as exc:  # the port is taken, the address is not this machine's
        typer.echo(in_lang(f"cannot listen on {host}:{port} ({exc.strerror or exc})"), err=True)
        raise typer.Exit(2) from None
