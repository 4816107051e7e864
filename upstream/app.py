"""The hub's FastAPI application: `create_app(db_url, data_dir, lease_seconds)`, and `app_from_env` for
uvicorn worker processes (`--workers N`), which build it from MODERATOR_HUB_* variables.

Cross-cutting rules live here: the body limit (checked before anything is parsed), bearer-token
users and roles (401/403), and one-line `{"detail": …}` errors. The routes are in upstream/routes.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from moderator.cli_common import one_line
from upstream.auth import User, user_for_token
from upstream.db import open_hub, read_tx, write_tx
from upstream.policy_store import ensure_policy

MAX_BODY = 8 * 1024 * 1024
ENV_DB, ENV_DIR, ENV_LEASE = "MODERATOR_HUB_DB", "MODERATOR_HUB_DIR", "MODERATOR_HUB_LEASE_SECONDS"
ENV_GOLDEN = "MODERATOR_HUB_GOLDEN_RATE"
DESK_HEADER = "X-Moderator-Desk"


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes is refused with 413 before the app reads it, by its
    Content-Length or, for a chunked body, as soon as the bytes received pass the limit."""

    def __init__(self, app, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _too_large(send, self.limit)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLarge(413, _too_large_line(self.limit))
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(send, self.limit)


class _BodyTooLarge(StarletteHTTPException):
    """An HTTPException, so the route's body reading passes it on and it is answered as one."""


def _too_large_line(limit: int) -> str:
    return f"request body over {limit // (1024 * 1024)} MiB"


async def _too_large(send, limit: int) -> None:
    response = JSONResponse({"detail": _too_large_line(limit)}, status_code=413)
    await response({"type": "http"}, None, send)


def create_app(db_url: str, data_dir: str | Path, lease_seconds: int = 600, golden_rate: float = 0.0) -> FastAPI:
    from upstream.qa_routes import router as qa_router
    from upstream.routes import router

    engine = open_hub(db_url)
    with write_tx(engine) as conn:
        ensure_policy(conn)
    app = FastAPI(title="Moderator hub", version="1", docs_url=None, redoc_url=None)
    app.state.engine, app.state.data_dir, app.state.lease_seconds = engine, Path(data_dir), lease_seconds
    app.state.golden_rate = golden_rate  # share of leased places given to golden items (upstream/leases.py)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(router)
    app.include_router(qa_router)
    app.add_middleware(BodyLimit)
    return app


def app_from_env() -> FastAPI:
    """The app of a `moderator hub serve` worker process (uvicorn's factory)."""
    return create_app(os.environ[ENV_DB], os.environ[ENV_DIR], int(os.environ.get(ENV_LEASE, "600")),
                      float(os.environ.get(ENV_GOLDEN, "0")))


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": one_line(str(exc.detail))}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI reads the body before the token's dependency runs: a malformed body from a caller with
    # no valid token is still "who are you?" (401), never a hint about the body.
    if request.url.path != "/v1/health":
        try:
            await run_in_threadpool(current_user, request, request.headers.get("authorization"))
        except HTTPException as refused:
            return await _http_error(request, refused)
    return JSONResponse({"detail": validation_line(exc.errors())}, status_code=422)


def validation_line(errors) -> str:
    """The first problem of a refused body as one line: where, then what."""
    if not errors:
        return "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return f"malformed JSON: {first.get('ctx', {}).get('error', first.get('msg'))}"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return one_line(f"{where}: {first.get('msg', 'invalid')}{more}")


def current_user(request: Request, authorization: str | None = Header(default=None)) -> User:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    with read_tx(request.app.state.engine) as conn:
        user = user_for_token(conn, token.strip())
    if user is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return user


def role(*allowed: str):
    """A dependency: the caller, who must have one of `allowed` roles (403 otherwise)."""
    def check(user: User = Depends(current_user)) -> User:
        if user.role not in allowed:
            raise HTTPException(403, f"a {user.role} may not do this (needs {' or '.join(allowed)})")
        return user
    return check


def desk_id(x_moderator_desk: str | None = Header(default=None)) -> str:
    desk = (x_moderator_desk or "").strip()
    if not desk or len(desk) > 100 or not desk.isprintable():
        raise HTTPException(422, f"the {DESK_HEADER} header (the desk's id, 1-100 characters) is required")
    return desk
