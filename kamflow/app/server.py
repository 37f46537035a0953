"""kamflow's own server: the workspace's pages and the HTTP API in one FastAPI application, on loopback by
default. `kamflow serve` runs it beside the deployments; the production shape runs it on its own."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from kamflow.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application: the API under /api, the workspace at the root; sessions are signed cookies whose key
    derives from the secret key (never the key itself)."""
    from kamflow.app.api import router as api
    from kamflow.app.web import router as web

    settings = settings or get_settings()
    app = FastAPI(title="kamflow", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    session_key = hashlib.sha256(b"kamflow-session:" + settings.approval_secret).hexdigest()
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key,
        session_cookie="kamflow_session",
        same_site="strict",
        https_only=settings.web_url.startswith("https://"),
        max_age=int(settings.token_lifetime.total_seconds()),
    )
    app.include_router(api, prefix="/api")
    app.include_router(web)
    return app


def run(settings: Settings) -> None:
    """The server in this process's foreground on web_host:web_port until SIGINT or SIGTERM (`kamflow server`)."""
    uvicorn.run(create_app(settings), host=settings.web_host, port=settings.web_port, lifespan="off")


def ready(settings: Settings) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{settings.web_port}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running(settings: Settings, *, timeout: float = 30) -> Iterator[uvicorn.Server]:
    """The server on 127.0.0.1:web_port in a thread of this process, for as long as the block runs."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=settings.web_port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="kamflow-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"kamflow's server did not start on port {settings.web_port}")
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=5)
