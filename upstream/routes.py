"""The v1 routes (docs/HUB.md). Each is a thin shell: check the caller, open one transaction, call the
module that owns the rule (leases, decisions, banks, policy_store), answer."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from moderator.banks import BankError
from moderator.clock import utc_now
from upstream.app import desk_id, role
from upstream.auth import User
from upstream.banks import changes_since, push_entries
from upstream.db import read_tx, write_tx
from upstream.decisions import receive
from upstream.exposure import exposure_on
from upstream.items import media_file
from upstream.leases import Holder, LeaseError, holds_media, lease_items, renew, return_lease
from upstream.models import BankEntriesPush, DecisionPush, LeaseRequest
from upstream.policy_store import current_policy, policy_labels
from upstream.qa_leases import holds_qa_media
from upstream.schema import media

router = APIRouter(prefix="/v1")
ANYONE = ("moderator", "qa", "lead", "admin")
MODERATORS = ("moderator", "lead", "admin")
LEADS = ("lead", "admin")
SHA256 = re.compile(r"[0-9a-f]{64}")


@router.get("/health")
def health() -> dict:
    return {"status": "ok", "version": 1}


@router.post("/leases")
def post_leases(body: LeaseRequest, request: Request, user: User = Depends(role(*MODERATORS)),
                desk: str = Depends(desk_id)) -> dict:
    state = request.app.state
    with write_tx(state.engine) as conn:
        granted = lease_items(conn, Holder(user.name, desk), body.count, state.lease_seconds, state.golden_rate)
    return {"leases": granted}


@router.post("/leases/{lease_id}/renew")
def post_renew(lease_id: str, request: Request, user: User = Depends(role(*MODERATORS)),
               desk: str = Depends(desk_id)) -> dict:
    state = request.app.state
    try:
        with write_tx(state.engine) as conn:
            return renew(conn, lease_id, Holder(user.name, desk), state.lease_seconds)
    except LeaseError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.delete("/leases/{lease_id}")
def delete_lease(lease_id: str, request: Request, user: User = Depends(role(*MODERATORS)),
                 desk: str = Depends(desk_id)) -> dict:
    try:
        with write_tx(request.app.state.engine) as conn:
            return return_lease(conn, lease_id, Holder(user.name, desk))
    except LeaseError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/media/{sha256}", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
def get_media(sha256: str, request: Request, user: User = Depends(role(*ANYONE))) -> FileResponse:
    state = request.app.state
    with read_tx(state.engine) as conn:
        row = conn.execute(select(media.c.path).where(media.c.sha256 == sha256)).first() \
            if SHA256.fullmatch(sha256) else None
        allowed = user.is_lead or (row is not None and (holds_media(conn, user.name, sha256)
                                                        or holds_qa_media(conn, user.name, sha256)))
    if not allowed:
        raise HTTPException(403, "media only for a desk holding a live lease on an item with it")
    if row is None:
        raise HTTPException(404, f"no media {sha256}")
    path = media_file(state.data_dir, row.path)
    if not path.is_file():
        raise HTTPException(404, f"media {sha256} is missing from the hub's data dir")
    return FileResponse(path, media_type="application/octet-stream")


@router.post("/decisions")
def post_decisions(body: DecisionPush, request: Request, user: User = Depends(role(*ANYONE)),
                   desk: str = Depends(desk_id)) -> dict:
    incoming = [d.model_dump(mode="json") for d in body.decisions]
    head = body.audit_head.model_dump() if body.audit_head else None
    with write_tx(request.app.state.engine) as conn:
        results = receive(conn, user, desk, incoming, policy_labels(conn), head)
    return {"results": results}


@router.get("/exposure/today")
def get_exposure_today(request: Request, user: User = Depends(role(*ANYONE)), desk: str = Depends(desk_id),
                       day: str | None = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$"),
                       exclude: list[str] = Query([])) -> dict:
    """The caller's exposure today (UTC) from their decisions on every desk, and from the other desks
    (less the `exclude` desks: the caller's neighbours on one machine count their own)."""
    if len(exclude) > 50 or any(not 0 < len(d) <= 100 for d in exclude):
        raise HTTPException(422, "exclude: at most 50 desk ids of 1-100 characters")
    with read_tx(request.app.state.engine) as conn:
        return exposure_on(conn, user.name, day or utc_now().date().isoformat(), desk, exclude)


@router.get("/policy")
def get_policy(request: Request, _user: User = Depends(role(*ANYONE))) -> dict:
    with read_tx(request.app.state.engine) as conn:
        return current_policy(conn)


@router.get("/banks/changes")
def get_bank_changes(request: Request, since: int = Query(0, ge=0), _user: User = Depends(role(*ANYONE))) -> dict:
    with read_tx(request.app.state.engine) as conn:
        return changes_since(conn, since)


@router.post("/banks/{name}/entries")
def post_bank_entries(name: str, body: BankEntriesPush, request: Request,
                      user: User = Depends(role(*LEADS))) -> dict:
    try:
        with write_tx(request.app.state.engine) as conn:
            return push_entries(conn, name, body.bank.model_dump() if body.bank else None,
                                [e.model_dump() for e in body.entries], body.remove, user.name)
    except BankError as exc:
        raise HTTPException(422, str(exc)) from None
