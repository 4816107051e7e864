"""The desk's HTTP client of the team hub: the v1 wire contract (docs/HUB.md), one method per route.

Every failure is one of two kinds, because the sync worker treats them differently: HubUnreachable
(no connection, a timeout, a 5xx, a reply that is not the contract's JSON: try again later, with
back-off) and HubRefused (a 4xx: the hub understood and said no; HubAuthError for a 401).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

API = "/v1"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class HubError(Exception):
    """A call to the hub failed; the text is one line."""


class HubUnreachable(HubError):
    """The hub could not be reached or did not answer properly: nothing was decided, try again later."""


class HubRefused(HubError):
    """The hub answered with a 4xx: `status` and the hub's one-line `detail`."""

    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail
        super().__init__(f"hub refused ({status}): {detail}")


class HubAuthError(HubRefused):
    """401: the token is missing, wrong or revoked."""


class HubClient:
    """One httpx connection pool to one hub, with the bearer token and the desk's id on every call."""

    def __init__(self, url: str, token: str | None, desk_id: str | None = None, *,
                 timeout: httpx.Timeout = TIMEOUT, transport: httpx.BaseTransport | None = None):
        self.url = url.rstrip("/")
        self.calls = 0  # requests attempted: a step that made none says nothing about being online
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if desk_id:
            headers["X-Moderator-Desk"] = desk_id
        try:
            self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)
        except (ValueError, httpx.InvalidURL) as exc:
            raise HubUnreachable(f"bad hub URL {url!r}: {exc}") from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routes -------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        body = self._json("GET", "/health")
        if body.get("status") != "ok":
            raise HubUnreachable(f"{self.url} is not a moderator hub (health said {body!r:.80})")
        return body

    def lease(self, count: int) -> list[dict[str, Any]]:
        return _list(self._json("POST", "/leases", json={"count": count}), "leases")

    def renew(self, lease_id: str) -> str:
        return str(self._json("POST", f"/leases/{lease_id}/renew")["expires_at"])

    def release(self, lease_id: str) -> None:
        self._json("DELETE", f"/leases/{lease_id}")

    def push(self, decisions: list[dict[str, Any]], audit_head: dict[str, Any] | None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"decisions": decisions}
        if audit_head is not None:
            body["audit_head"] = audit_head
        results = _list(self._json("POST", "/decisions", json=body), "results")
        if len(results) != len(decisions) or any(
                not isinstance(r, dict) or r.get("uuid") != d["uuid"] for r, d in zip(results, decisions, strict=False)):
            raise HubUnreachable("hub answered a push with results that do not match the decisions sent")
        return results

    def exposure_today(self, exclude: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        """This person's exposure today on the hub: `exposure_ms` (every desk), `other_desks_ms` (all
        but this desk and the `exclude` desk ids)."""
        return self._json("GET", "/exposure/today", params={"exclude": list(exclude)})

    def policy(self) -> dict[str, Any]:
        return self._json("GET", "/policy")

    def bank_changes(self, since: int) -> dict[str, Any]:
        return self._json("GET", "/banks/changes", params={"since": since})

    @contextmanager
    def media(self, sha256: str) -> Iterator[_Reader]:
        """The media's bytes as a file-like object with read(n), streamed (never held whole in memory)."""
        self.calls += 1
        try:
            with self._http.stream("GET", f"{API}/media/{sha256}") as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for(response)
                yield _Reader(response.iter_bytes(1 << 16))
        except httpx.TransportError as exc:
            raise HubUnreachable(_network(exc, self.url)) from None

    # -- plumbing -----------------------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        try:
            response = self._http.request(method, f"{API}{path}", **kwargs)
        except httpx.TransportError as exc:
            raise HubUnreachable(_network(exc, self.url)) from None
        _raise_for(response)
        try:
            body = response.json()
        except ValueError:
            raise HubUnreachable(f"{method} {path}: the hub's answer is not JSON") from None
        if not isinstance(body, dict):
            raise HubUnreachable(f"{method} {path}: the hub's answer is not a JSON object")
        return body


class _Reader:
    """read(n) over a stream of chunks, for MediaCache.stage; a broken connection is HubUnreachable."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._buffer = chunks, b""

    def read(self, n: int = -1) -> bytes:
        try:
            while n < 0 or len(self._buffer) < n:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._buffer += chunk
        except httpx.TransportError as exc:
            raise HubUnreachable(f"download broke off: {exc or type(exc).__name__}") from None
        out, self._buffer = (self._buffer, b"") if n < 0 else (self._buffer[:n], self._buffer[n:])
        return out


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status >= 500:
        raise HubUnreachable(f"hub error {status} on {response.request.method} {response.request.url.path}")
    detail = _detail(response)
    raise (HubAuthError if status == 401 else HubRefused)(status, detail)


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # FastAPI's validation errors: the first one is enough for one line
        detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail[:2])
    text = str(detail or response.reason_phrase or "refused")
    return " ".join(text.split())[:300]


def _network(exc: httpx.TransportError, url: str) -> str:
    what = str(exc) or type(exc).__name__
    return f"hub {url} unreachable: {' '.join(what.split())[:200]}"


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise HubUnreachable(f"the hub's answer has no {key!r} list")
    return value
