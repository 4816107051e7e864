"""The QA routes of the v1 API (docs/HUB.md, "QA on the hub"): `qa` users lease sampled decisions to
re-review blind, and read the reviewed decision once their judgement (POST /v1/decisions, source qa)
is accepted. Thin shells, as upstream/routes.py: the rules are upstream/qa_leases.py and upstream/qa.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from upstream.app import desk_id, role
from upstream.auth import User
from upstream.db import read_tx, write_tx
from upstream.leases import Holder, LeaseError
from upstream.models import LeaseRequest
from upstream.qa import QaError, original
from upstream.qa_leases import lease_tasks, renew_task, return_task
from upstream.qa_resolve import Resolution, resolve

router = APIRouter(prefix="/v1/qa")


@router.post("/leases")
def post_qa_leases(body: LeaseRequest, request: Request, user: User = Depends(role("qa")),
                   desk: str = Depends(desk_id)) -> dict:
    state = request.app.state
    with write_tx(state.engine) as conn:
        return {"leases": lease_tasks(conn, Holder(user.name, desk), body.count, state.lease_seconds)}


@router.post("/leases/{lease_id}/renew")
def post_qa_renew(lease_id: str, request: Request, user: User = Depends(role("qa")),
                  desk: str = Depends(desk_id)) -> dict:
    state = request.app.state
    try:
        with write_tx(state.engine) as conn:
            return renew_task(conn, lease_id, Holder(user.name, desk), state.lease_seconds)
    except LeaseError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.delete("/leases/{lease_id}")
def delete_qa_lease(lease_id: str, request: Request, user: User = Depends(role("qa")),
                    desk: str = Depends(desk_id)) -> dict:
    try:
        with write_tx(request.app.state.engine) as conn:
            return return_task(conn, lease_id, Holder(user.name, desk))
    except LeaseError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/tasks/{task_id}/original")
def get_original(task_id: str, request: Request, user: User = Depends(role("qa", "lead", "admin"))) -> dict:
    try:
        with read_tx(request.app.state.engine) as conn:
            return original(conn, user, task_id)
    except QaError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.post("/tasks/{task_id}/resolve")
def post_resolve(task_id: str, body: Resolution, request: Request, user: User = Depends(role("qa")),
                 desk: str = Depends(desk_id)) -> dict:
    """The analyst's final label and note for a judged task: it supersedes the item's standing decision."""
    try:
        with write_tx(request.app.state.engine) as conn:
            return resolve(conn, user, desk, task_id, body)
    except QaError as exc:
        raise HTTPException(exc.status, str(exc)) from None
