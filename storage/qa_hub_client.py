"""The QA routes of the hub's v1 contract (docs/HUB.md, "QA on the hub") on the desk's HubClient: the
same connection pool, token, desk id and the same two kinds of failure (HubUnreachable, HubRefused)."""

from __future__ import annotations

from typing import Any

from storage.hub_client import HubClient, HubUnreachable, _list


class QaHubClient(HubClient):
    def qa_lease(self, count: int) -> list[dict[str, Any]]:
        """Up to `count` QA tasks, blind: lease_id, expires_at, task_id, decision_uuid and the item."""
        leases = _list(self._json("POST", "/qa/leases", json={"count": count}), "leases")
        for lease in leases:
            if not isinstance(lease, dict) or not {"lease_id", "task_id", "decision_uuid", "item"} <= set(lease):
                raise HubUnreachable("the hub's QA lease is not the contract's object")
        return leases

    def qa_renew(self, lease_id: str) -> str:
        return str(self._json("POST", f"/qa/leases/{lease_id}/renew")["expires_at"])

    def qa_return(self, lease_id: str) -> None:
        self._json("DELETE", f"/qa/leases/{lease_id}")

    def qa_resolve(self, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A judged task's resolution (uuid, label, note, decided_at, handle_ms); HubRefused 409 when the
        decision is resolved already or the task is not judged, 403 when another analyst judged it."""
        return self._json("POST", f"/qa/tasks/{task_id}/resolve", json=body)

    def qa_original(self, task_id: str) -> dict[str, Any]:
        """The decision a task re-reviewed; HubRefused 409 before this analyst's judgement is in."""
        return self._json("GET", f"/qa/tasks/{task_id}/original")
