"""QA tasks from the team hub: the hub source of moderator.qa_service.QaService (`moderator desk --qa` with
a hub configured). No Qt; every method blocks on the network and the store, so the desk runs them on
TaskRunner's network pool.

- `open_tasks` leases QA tasks (POST /v1/qa/leases), brings each item's media into the private media
  cache through the checks a moderation lease's media passes (moderator.sync_media), and writes the item
  here (hub id = local id, status `released`: it is never in this desk's moderation queue). A task
  carries the item alone: the hub sends nothing of the reviewed decision, its actor or any bank match.
- `judge` keeps the judgement first (storage.qa_outbox: durable before any network call), pushes it
  (POST /v1/decisions, source qa, qa_of, the QA lease), and only once the hub accepted it reads the
  original (GET /v1/qa/tasks/{id}/original). Then both rows enter the local decision log as imported
  history. Offline, refused or 401: the judgement stays in the outbox and the outcome says why, in one line.
- `renew` keeps the leases of tasks not judged yet alive; `release_all` hands them back on quit.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from blurring.errors import MediaError
from moderator import sync_media
from moderator.clock import now_iso, parse_iso, utc_now
from moderator.decisions_import import HistoryRow
from moderator.domain import Action, Decision, DecisionSource, FilterSpec, ItemStatus, Policy, Reveal
from moderator.qa_service import QaError, QaOutcome, QaTask, agrees
from storage import audit, qa_outbox
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage import sync as sync_repo
from storage.hub_client import HubAuthError, HubError, HubRefused, HubUnreachable
from storage.media_cache import MediaCache
from storage.qa_hub_client import QaHubClient
from storage.store import Store

KEEP_IN_HAND = 20  # QA tasks leased at a time
LOGIN_HINT = " (run `moderator login --hub URL` again)"


@dataclass
class HubTask:
    task_id: str
    lease_id: str
    expires_at: str
    received_at: str  # when this desk last got or renewed the lease: renew once half of it is used
    decision_uuid: str
    item_id: str
    floor: FilterSpec | None = None
    judged: bool = False


class HubQaSource:
    def __init__(self, store: Store, policy: Policy, actor: str, client: QaHubClient, *, keep: int = KEEP_IN_HAND):
        self.store, self.policy, self.actor, self.client, self.keep = store, policy, actor, client, keep
        self.held: dict[str, HubTask] = {}  # task id -> its live QA lease (this desk's run only)
        self._lock = threading.Lock()  # one network step at a time (the pool has more than one thread)
        self.online: bool | None = None  # None: not tried yet
        self.last_error: str | None = None

    @classmethod
    def for_hub(cls, store: Store, policy: Policy, actor: str, url: str, token: str | None) -> HubQaSource:
        return cls(store, policy, actor, QaHubClient(url, token, store.write(sync_repo.ensure_desk_id)))

    def close(self) -> None:
        self.client.close()

    # -- tasks ------------------------------------------------------------------------------------
    def open_tasks(self) -> list[QaTask]:
        """The tasks in hand not judged yet, after leasing up to `keep` of them. Unreachable or refused:
        QaError in one line (nothing lost: leases already held stay)."""
        with self._lock:
            want = self.keep - sum(not t.judged for t in self.held.values())
            if want > 0:
                for lease in self._call(lambda: self.client.qa_lease(want)):
                    self._take(lease)
            tasks = [t for t in self.held.values() if not t.judged]
            return [QaTask(t.task_id, "hub", t.decision_uuid, self._item(t.item_id), False, t.floor) for t in tasks]

    def _take(self, lease: dict[str, Any]) -> None:
        """Bring one leased task's item here; a file that fails the checks is never shown, its lease
        handed back at once."""
        try:
            row = replace_status(sync_media.item_row(lease["item"], self.policy))
            media_row, staged = self._media(lease, row["sha256"])
        except (MediaError, HubRefused) as exc:
            reason = exc.reason if isinstance(exc, MediaError) else f"media not served: {exc.detail}"
            self.store.write(lambda db: audit.append(db, self.actor, "qa_hub_media_refused", lease["task_id"],
                                                     {"lease_id": lease["lease_id"], "reason": reason}))
            self._give_back(lease["lease_id"])
            return
        cache = MediaCache(self.store.media_dir)
        try:
            self.store.write(_write_item, lease, row, media_row, self.actor)
        except BaseException:
            if staged is not None:
                cache.discard(staged)
            raise
        if staged is not None:
            cache.commit(staged)
        now = now_iso()
        self.held[lease["task_id"]] = HubTask(lease["task_id"], lease["lease_id"], str(lease["expires_at"]), now,
                                              lease["decision_uuid"], row["id"], _floor(lease.get("filter_floor")))

    def _media(self, lease: dict[str, Any], sha256: str):
        known = items_repo.media_for_sha(self.store.db, sha256)
        if known is not None and Path(known["media_path"]).is_file():
            return None, None
        as_lease = sync_repo.Lease(lease["lease_id"], lease["item"]["id"], sha256, str(lease["expires_at"]),
                                   sync_repo.FETCHING, lease["item"], None, now_iso())
        staged, media_row = sync_media._download(self.store, self.client, as_lease)
        return media_row, staged

    def _item(self, item_id: str):
        return replace(items_repo.get_item(self.store.db, item_id), suggested_label=None, match_badges=())

    # -- judgements -----------------------------------------------------------------------------------
    def judge(self, task_id: str, label_name: str, *, handle_ms: int = 0, note: str | None = None) -> QaOutcome:
        """Keep the judgement, push it, and read the original once the hub has accepted it."""
        with self._lock:
            task = self.held.get(task_id)
            if task is None or task.judged:
                raise QaError(f"no open QA task {task_id!r} from the hub in hand")
            try:
                label = self.policy.label(label_name)
            except KeyError:
                raise QaError(f"unknown label {label_name!r} in policy {self.policy.version}") from None
            wire = {"uuid": str(uuid.uuid4()), "item_id": task.item_id, "lease_id": task.lease_id,
                    "labels": [label.name], "action": label.action.value, "decided_at": now_iso(),
                    "handle_ms": int(handle_ms), "exposure_ms": 0, "batch_id": None, "supersedes": None,
                    "policy_version": self.policy.version, "source": DecisionSource.QA.value, "note": note,
                    "qa_of": task.decision_uuid}
            judgement = self.store.write(qa_outbox.add, self.actor, task_id, wire)
            task.judged = True  # kept: it is never judged twice, whatever the hub says
            qa_task = QaTask(task_id, "hub", task.decision_uuid, self._item(task.item_id), False)
            return self._deliver(judgement, qa_task)

    def push_pending(self) -> int:
        """Push the judgements still waiting (an earlier offline or 401); how many the hub settled."""
        with self._lock:
            settled = 0
            for j in qa_outbox.unsent(self.store.db):
                item = self._item(j.decision["item_id"])
                outcome = self._deliver(j, QaTask(j.task_id, "hub", j.decision["qa_of"], item, False))
                settled += outcome.pending is None or "refused" in outcome.pending
            return settled

    def _deliver(self, j: qa_outbox.Judgement, task: QaTask) -> QaOutcome:
        qa = _decision(j.decision, self.actor)
        try:
            [result] = self._call(lambda: self.client.push([j.decision], None), keep=j.uuid)
        except QaError as exc:
            return QaOutcome(task, qa, None, None, False, None, pending=f"QA label kept on this desk: {exc}")
        status = result.get("status")
        if status not in ("accepted", "duplicate"):
            reason = " ".join(str(result.get("reason") or status).split())[:200]
            self.store.write(qa_outbox.mark_rejected, j.uuid, reason)
            return QaOutcome(task, qa, None, None, False, None,
                             pending=f"The hub refused the QA label ({reason}); it is kept on this desk")
        self.store.write(qa_outbox.mark_sent, j.uuid)
        try:
            found = self._call(lambda: self.client.qa_original(j.task_id))
        except QaError as exc:
            return QaOutcome(task, qa, None, None, False, None,
                             pending=f"QA label accepted by the hub; the original could not be read: {exc}")
        original = _original(found)
        self.store.write(_import_both, original, qa, found, self.actor)
        golden = tuple(found["golden_labels"]) if found.get("golden_labels") else None
        task = replace(task, item=replace(task.item, suggested_label=sync_media.suggested_label(
            found.get("matches") or [], self.policy), match_badges=_badges(found.get("matches") or [])))
        return QaOutcome(task, qa, original, golden, agrees(original, qa), None)

    def resolve(self, task_id: str, final_label: str, note: str) -> Decision:
        """Settle a judged task's disagreement on the hub (POST /v1/qa/tasks/{id}/resolve): the final label
        supersedes the item's standing decision there; the resolution is kept here as imported history.
        QaError (nothing kept) when the hub is unreachable or refuses it (resolved already: 409)."""
        try:
            label = self.policy.label(final_label)
        except KeyError:
            raise QaError(f"unknown label {final_label!r} in policy {self.policy.version}") from None
        body = {"uuid": str(uuid.uuid4()), "label": label.name, "note": note, "decided_at": now_iso(), "handle_ms": 0}
        with self._lock:
            found = self._call(lambda: self.client.qa_resolve(task_id, body))
        try:
            d = Decision(uuid=body["uuid"], item_id=found["item_id"], labels=(label.name,), action=label.action,
                         actor=self.actor, decided_at=body["decided_at"], policy_version=self.policy.version,
                         source=DecisionSource.QA, note=note, qa_of=found["qa_of"], supersedes=found["supersedes"])
        except (KeyError, TypeError) as exc:
            raise QaError(f"the hub's resolution answer is not the contract's object ({exc})") from None
        self.store.write(_import_resolution, d, task_id, self.actor)
        return d

    def leave_for_lead(self, task_id: str, note: str | None = None) -> None:
        """The hub keeps the judged task for the lead as it is: audited here."""
        self.store.write(lambda db: audit.append(db, self.actor, "qa_left_for_lead", task_id,
                                                 {"hub": True, **({"note": note} if note else {})}))

    # -- leases ---------------------------------------------------------------------------------------
    def renew(self, *, all_held: bool = False) -> list[str]:
        """Renew the leases of tasks not judged yet once half their time is used; the tasks whose lease
        the hub no longer holds for us (expired, taken over) are dropped and returned."""
        with self._lock:
            lost = []
            for t in [t for t in self.held.values() if not t.judged]:
                if not (all_held or _half_used(t)):
                    continue
                try:
                    expires = self._call(lambda t=t: self.client.qa_renew(t.lease_id))
                except QaError as exc:
                    if isinstance(exc.__cause__, HubRefused) and not isinstance(exc.__cause__, HubAuthError):
                        lost.append(t.task_id)
                        del self.held[t.task_id]
                        continue
                    raise
                t.expires_at, t.received_at = expires, now_iso()
            return lost

    def release_all(self) -> int:
        """On quit: hand back every lease of a task not judged here; how many went back."""
        with self._lock:
            back = [t for t in self.held.values() if not t.judged]
            for t in back:
                self._give_back(t.lease_id)
                del self.held[t.task_id]
            return len(back)

    def counts(self) -> dict[str, int]:
        return {**qa_outbox.counts(self.store.db), "in_hand": sum(not t.judged for t in self.held.values())}

    # -- plumbing -------------------------------------------------------------------------------------
    def _give_back(self, lease_id: str) -> None:
        try:
            self.client.qa_return(lease_id)
        except HubError:
            pass  # the hub takes the task back when the lease runs out

    def _call(self, fn, *, keep: str | None = None):
        """One hub call; HubError becomes QaError in one line (its cause kept), the state remembered."""
        try:
            value = fn()
        except HubError as exc:
            hint = LOGIN_HINT if isinstance(exc, HubAuthError) else ""
            self.online = not isinstance(exc, HubUnreachable)
            self.last_error = " ".join(f"{exc}{hint}".split())[:300]
            if keep is not None:
                self.store.write(qa_outbox.mark_failed, keep, self.last_error)
            raise QaError(self.last_error) from exc
        self.online, self.last_error = True, None
        return value


def replace_status(row: dict[str, Any]) -> dict[str, Any]:
    """A QA task's item is never in this desk's moderation queue: released (another desk's, if anyone's)."""
    return {**row, "status": ItemStatus.RELEASED.value}


def _write_item(db: Db, lease: dict[str, Any], row: dict[str, Any], media_row: dict[str, Any] | None,
                actor: str) -> None:
    payload = {"lease_id": lease["lease_id"], "task_id": lease["task_id"], "sha256": row["sha256"]}
    if db.execute("SELECT 1 FROM items WHERE id = ?", (row["id"],)).fetchone() is not None:
        audit.append(db, actor, "qa_hub_lease", row["id"], {**payload, "again": True})
        return
    if media_row is not None:
        items_repo.insert_media(db, media_row)
    elif items_repo.media_for_sha(db, row["sha256"]) is None:
        raise MediaError("the media row vanished while the item was written")
    if row["external_id"] and (other := items_repo.item_id_for_external(db, row["external_id"])):
        raise MediaError(f"external_id {row['external_id']} is already item {other} here")
    items_repo.insert_item(db, row)
    audit.append(db, actor, "qa_hub_lease", row["id"], payload, audit.item_records(row["id"]))


def _decision(wire: dict[str, Any], actor: str) -> Decision:
    return Decision(uuid=wire["uuid"], item_id=wire["item_id"], labels=tuple(wire["labels"]),
                    action=Action(wire["action"]), actor=actor, decided_at=wire["decided_at"],
                    policy_version=wire["policy_version"], source=DecisionSource.QA, handle_ms=wire["handle_ms"],
                    note=wire["note"], qa_of=wire["qa_of"])


def _original(found: dict[str, Any]) -> Decision:
    try:
        return Decision(uuid=found["decision_uuid"], item_id=found["item_id"], labels=tuple(found["labels"]),
                        action=Action(found["action"]), actor=found["actor"], decided_at=found["decided_at"],
                        policy_version=found.get("policy_version") or "hub",
                        source=DecisionSource(found.get("source") or "manual"), note=found.get("note"))
    except (KeyError, TypeError, ValueError) as exc:
        raise QaError(f"the hub's original is not the contract's object ({exc})") from None


def _import_both(db: Db, original: Decision, qa: Decision, found: dict[str, Any], actor: str) -> None:
    """The hub's reviewed decision and the accepted judgement into the local log, as imported history
    (no outbox: both are the hub's already); a replay of rows already held changes nothing."""
    rows = [HistoryRow(1, original, None, None, found.get("team")), HistoryRow(2, qa, None, None, None)]
    try:
        decisions_repo.import_history(db, rows, actor, "hub QA")
    except decisions_repo.HistoryImportError as exc:
        audit.append(db, actor, "qa_hub_import_skipped", qa.uuid, {"why": [p[1] for p in exc.problems][:3]})


def _import_resolution(db: Db, d: Decision, task_id: str, actor: str) -> None:
    """The hub's accepted resolution into the local log (imported history), audited either way."""
    audit.append(db, actor, "qa_hub_resolved", task_id, {"uuid": d.uuid, "qa_of": d.qa_of, "labels": list(d.labels),
                                                         "supersedes": d.supersedes, "note": d.note})
    try:
        decisions_repo.import_history(db, [HistoryRow(1, d, None, None, None)], actor, "hub QA")
    except decisions_repo.HistoryImportError as exc:
        audit.append(db, actor, "qa_hub_import_skipped", d.uuid, {"why": [p[1] for p in exc.problems][:3]})


def _half_used(t: HubTask) -> bool:
    try:
        expires, since = parse_iso(t.expires_at), parse_iso(t.received_at)
    except ValueError:
        return True
    return (expires - utc_now()).total_seconds() <= max((expires - since).total_seconds(), 0) / 2


def _badges(matches: list[Any]) -> tuple[str, ...]:
    """"bank:label d=N" per match, strongest first, as storage.items makes them (at most 5)."""
    return tuple(f"{m.get('bank')}:{m.get('label')} d={m.get('distance')}" for m in matches[:5] if isinstance(m, dict))


def _floor(body: Any) -> FilterSpec:
    """The hub's filter floor for a task; the strictest filter when it is missing or unreadable (a hub
    that sends none, or garbage, never makes the desk show more than a CSAM match would)."""
    try:
        spec = FilterSpec(blur=int(body["blur"]), grayscale=bool(body["grayscale"]), pixelate=int(body["pixelate"]),
                          style=body.get("style") or None, reveal=Reveal(body["reveal"]))
    except (KeyError, TypeError, ValueError):
        return FilterSpec(blur=6, grayscale=True, reveal=Reveal.NONE)
    return spec
