"""The team hub on loopback, on SQLite and on PostgreSQL, in one run (issue 9, "Performance"):

1. push: 10,000 decisions from one desk (a real Store, items leased in by SyncService.pull_leases,
   decided by ReviewService.decide_batch: real outbox rows), timed SyncService.push() until all are
   delivered; target <= 5 s. Baselines in the same run: the hub-side floor (as many wire decisions,
   on other items the same hub leased out, posted with plain httpx in batches of 1,000) and the
   client-side floor (the desk reading and encoding its outbox, no network).
2. leases/s: 50 desks (threads, each its own httpx client, user token and X-Moderator-Desk id)
   each making 6 lease calls of count=10 at once (nothing returned: every item handed out is checked
   to be on one desk only), on --workers 1 and 4. Baseline: 1 desk making 60 such calls alone.
3. decision -> on the hub, online: ReviewService.decide, then SyncService.push(); timed from decide()
   returning until push() returns (the hub commits before it answers, so the row is there then; each
   row is then checked on the hub). The desk waits PUSH_DELAY_MS (ui/sync_driver.py) before pushing;
   that is on top. Baseline: one wire decision posted with plain httpx.
Each part checks what the hub stored (every decision exactly once, accepted; no item on two live
leases; no item leased to two desks) and the script exits 1 if anything is wrong.

Run: .venv/bin/python bench/bench_hub.py [--quick] [--db sqlite|postgresql|both]
PostgreSQL needs Debian's `postgresql` binaries (a throwaway server, as the hub tests start it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.figures import figure  # noqa: E402
from moderator.clock import now_iso  # noqa: E402
from moderator.hub_config import HubConfig  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.review import ReviewService  # noqa: E402
from moderator.sync_push import api_decision  # noqa: E402
from moderator.sync_service import SyncService  # noqa: E402
from storage import sync as sync_repo  # noqa: E402
from storage.hub_client import HubClient  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.hub_fixtures import HubProcess, PgServer, _pg_bin, add_items, decision, start_hub  # noqa: E402
from ui.sync_driver import PUSH_DELAY_MS  # noqa: E402
from upstream.leases import MAX_PER_DESK  # noqa: E402
from upstream.schema import decisions, leases  # noqa: E402

TARGET_PUSH_S = 5.0
LEASE_COUNT = 10  # per call, as a desk keeping a few in hand asks
LABEL = "spam"


@dataclass
class Sizes:
    decisions: int = 10_000
    desks: int = 50
    calls_per_desk: int = 6
    baseline_calls: int = 60
    latency: int = 100


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            print(f"  FAILED: {what}", flush=True)


# -- putting work into a hub and reading it back -----------------------------------------------
def new_hub(root: Path, pg: PgServer | None, *options: str) -> HubProcess:
    root.mkdir(parents=True)
    hub = start_hub(root, pg.new_database() if pg else None, *options, users=False)
    hub.tokens.update(hub.add_users([("moderator-1", "moderator")]))
    hub.tokens["moderator"] = hub.tokens["moderator-1"]
    return hub


def fill(hub: HubProcess, n: int) -> None:
    """n pending items on one shared PNG (the desk downloads the bytes once; each item is its own row)."""
    for start in range(0, n, 5_000):
        add_items(hub, min(5_000, n - start), shared_media=True)


def hub_query(hub: HubProcess, query):
    engine = hub.engine()
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))
    finally:
        engine.dispose()


def check_decisions(report: Report, hub: HubProcess, uuids: list[str], what: str) -> None:
    """Every uuid on the hub exactly once, accepted, and no item with two accepted decisions."""
    rows = hub_query(hub, select(decisions.c.uuid, decisions.c.item_id, decisions.c.status)
                     .where(decisions.c.uuid.in_(uuids)))
    report.check(len(rows) == len(uuids) == len({r.uuid for r in rows}),
                 f"{what}: {len(rows)} hub rows for {len(uuids)} decisions")
    report.check(all(r.status == "accepted" for r in rows), f"{what}: not every decision accepted")
    per_item = hub_query(hub, select(decisions.c.item_id).where(decisions.c.status == "accepted")
                         .group_by(decisions.c.item_id).having(func.count() > 1))
    report.check(not per_item, f"{what}: {len(per_item)} items decided twice on the hub")


def check_live_leases(report: Report, hub: HubProcess, what: str) -> int:
    """No item on two live leases; the number of live leases."""
    now = now_iso()
    live = hub_query(hub, select(leases.c.item_id).where(leases.c.ended_at.is_(None), leases.c.expires_at > now))
    report.check(len(live) == len({r.item_id for r in live}), f"{what}: an item on two live leases")
    return len(live)


def plain_client(hub: HubProcess, token: str, desk: str) -> httpx.Client:
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}", "X-Moderator-Desk": desk},
                        timeout=60)


def plain_leases(hub: HubProcess, n: int) -> list[tuple[str, str]]:
    """(item_id, lease_id) of n items leased with plain httpx, a new desk id per 200 (the allowance)."""
    got: list[tuple[str, str]] = []
    while len(got) < n:
        with plain_client(hub, hub.tokens["moderator"], f"floor-{uuid.uuid4()}") as http:
            for _ in range(MAX_PER_DESK // 100):
                body = http.post("/v1/leases", json={"count": min(100, n - len(got))}).json()
                if not body["leases"]:
                    raise RuntimeError(f"the hub ran out of items after {len(got)} of {n}")
                got += [(x["item"]["id"], x["lease_id"]) for x in body["leases"]]
                if len(got) >= n:
                    break
    return got


# -- a desk ------------------------------------------------------------------------------------
class Desk:
    """A desk's real store, review service and sync service on `hub`, as the moderator."""

    def __init__(self, folder: Path, hub: HubProcess, keep: int = MAX_PER_DESK) -> None:
        self.hub, self.store, self.policy = hub, Store(folder), load_policy()
        self.config = HubConfig(hub.url, hub.tokens["moderator"], "env")
        self.review = ReviewService(self.store, self.policy, "bench")
        self.sync = SyncService(self.store, self.policy, "bench", self.config, keep=keep)

    def lease_and_decide(self, n: int) -> None:
        """n hub items leased in and decided here. The hub lets one desk hold 200 live leases, and a
        lease lives on until it expires, so each chunk of 200 is leased under its own X-Moderator-Desk
        id (same user, same store); the hub checks a decision's lease against the user, not the desk."""
        while (done := self.decided()) < n:
            client = HubClient(self.hub.url, self.hub.tokens["moderator"], f"lease-chunk-{uuid.uuid4()}")
            puller = SyncService(self.store, self.policy, "bench", self.config,
                                 keep=min(MAX_PER_DESK, n - done), client=client)
            try:
                got = [c.item_id for c in puller.pull_leases().changes.item_changes]
            finally:
                puller.close()
            if not got:
                raise RuntimeError(f"the hub ran out of items after {done}")
            self.review.decide_batch(got, LABEL)

    def decided(self) -> int:
        return self.store.db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'decision'").fetchone()[0]

    def outbox_uuids(self) -> list[str]:
        return [r[0] for r in self.store.db.execute("SELECT ref FROM outbox WHERE kind = 'decision'")]

    def close(self) -> None:
        self.sync.close()
        self.store.close()


def decided_desk(folder: Path, hub: HubProcess, n: int) -> Desk:
    """A desk in `folder` holding n decided hub items. Made in memory (tmpfs) where there is one, as
    its thousands of fsync'd lease writes are set-up, not the push, then moved to `folder` on disk."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        desk = Desk(folder, hub)
        desk.lease_and_decide(n)
        return desk
    with tempfile.TemporaryDirectory(dir=shm, prefix="bench-hub-desk-") as scratch:
        desk = Desk(Path(scratch) / "desk", hub)
        try:
            desk.lease_and_decide(n)
        finally:
            desk.close()
        shutil.copytree(Path(scratch) / "desk", folder)
    return Desk(folder, hub)


def encode_outbox(desk: Desk, batch: int) -> int:
    """What a push does on the desk before and after the network, minus the network: read the
    undelivered rows, build the wire decisions, encode the bodies."""
    rows = sync_repo.unsent(desk.store.db, 1_000_000)
    wire = [api_decision(desk.store.db, r) for r in rows]
    size = 0
    for start in range(0, len(wire), batch):
        size += len(json.dumps({"decisions": wire[start:start + batch]}).encode())
    return len(rows)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - t0, value


# -- 1. 10,000 decisions from one desk ---------------------------------------------------------------
def bench_push(report: Report, root: Path, pg: PgServer | None, n: int) -> dict[str, float]:
    hub = new_hub(root / "hub", pg)
    try:
        fill(hub, 2 * n)  # the desk's, then the floor's
        t_setup, desk = timed(decided_desk, root / "desk", hub, n)
        try:
            report.check(desk.sync.status().unsynced == n, f"push: {n} unsynced decisions in the outbox")
            t_encode, encoded = timed(encode_outbox, desk, 500)
            report.check(encoded == n, f"push: the encode floor read {encoded} rows, not {n}")
            t_push, result = timed(desk.sync.push)
            report.check(result.counts.get("accepted") == n, f"push: accepted {result.counts}")
            report.check(result.status.unsynced == 0, f"push: {result.status.unsynced} still unsynced")
            check_decisions(report, hub, desk.outbox_uuids(), "push")
        finally:
            desk.close()
        floors = {"floor": post_floor(report, hub, n, 1_000)}
        check_live_leases(report, hub, "push")
    finally:
        hub.stop()
    report.say(f"  setup (lease {n} in, decide in batches of {MAX_PER_DESK}): {t_setup:.1f} s")
    return {"push": t_push, "encode": t_encode, **floors}


def post_floor(report: Report, hub: HubProcess, n: int, batch: int) -> float:
    """Plain httpx posting n wire decisions on freshly leased items, `batch` per call."""
    held = plain_leases(hub, n)
    wire = [decision(item_id, lease_id) for item_id, lease_id in held]
    with plain_client(hub, hub.tokens["moderator"], f"floor-{uuid.uuid4()}") as http:
        t0 = time.perf_counter()
        answers = [http.post("/v1/decisions", json={"decisions": wire[i:i + batch]}) for i in range(0, n, batch)]
        elapsed = time.perf_counter() - t0
    statuses = [r["status"] for a in answers for r in a.json()["results"]]
    report.check(statuses.count("accepted") == n, f"floor {batch}: {n - statuses.count('accepted')} not accepted")
    check_decisions(report, hub, [d["uuid"] for d in wire], f"floor {batch}")
    return elapsed


# -- 2. leases per second, 50 desks -----------------------------------------------------------------
def bench_leases(report: Report, root: Path, pg: PgServer | None, workers: int, sizes: Sizes) -> dict[str, float]:
    hub = new_hub(root, pg, "--workers", str(workers))
    try:
        fill(hub, sizes.baseline_calls * LEASE_COUNT + sizes.desks * sizes.calls_per_desk * LEASE_COUNT)
        tokens = hub.add_users([(f"desk-{i}", "moderator") for i in range(sizes.desks)])
        one_s, one_items = lease_run(hub, [tokens["desk-0"]], sizes.baseline_calls)
        many_s, many_items = lease_run(hub, list(tokens.values()), sizes.calls_per_desk)
        everyone = one_items + many_items
        report.check(len(everyone) == len(set(everyone)), f"leases w{workers}: an item leased to two desks")
        report.check(len(many_items) == sizes.desks * sizes.calls_per_desk * LEASE_COUNT,
                     f"leases w{workers}: {len(many_items)} leased by {sizes.desks} desks")
        live = check_live_leases(report, hub, f"leases w{workers}")
        report.check(live == len(everyone), f"leases w{workers}: {live} live leases, {len(everyone)} handed out")
    finally:
        hub.stop()
    return {"one": len(one_items) / one_s, "many": len(many_items) / many_s}


def lease_run(hub: HubProcess, tokens: list[str], calls: int) -> tuple[float, list[str]]:
    """Each token a desk (thread, client, desk id) making `calls` lease calls of LEASE_COUNT; one desk
    alone takes a new desk id whenever it holds the whole allowance. (seconds, item ids leased)."""
    per_desk = MAX_PER_DESK // LEASE_COUNT
    got: list[list[str]] = [[] for _ in tokens]
    start = threading.Barrier(len(tokens) + 1)

    def desk(n: int, token: str) -> None:
        clients = [plain_client(hub, token, f"desk-{uuid.uuid4()}") for _ in range(-(-calls // per_desk))]
        for c in clients:
            c.get("/v1/health")  # connect before the clock starts
        start.wait()
        for call in range(calls):
            body = clients[call // per_desk].post("/v1/leases", json={"count": LEASE_COUNT}).json()
            got[n] += [x["item"]["id"] for x in body["leases"]]
        for c in clients:
            c.close()

    threads = [threading.Thread(target=desk, args=(n, t)) for n, t in enumerate(tokens)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, [i for g in got for i in g]


# -- 3. decision -> on the hub, online -------------------------------------------------------------
def bench_latency(report: Report, root: Path, pg: PgServer | None, n: int) -> dict[str, float]:
    hub = new_hub(root / "hub", pg)
    try:
        fill(hub, 2 * n)
        desk = Desk(root / "desk", hub, keep=n)
        try:
            items = [c.item_id for c in desk.sync.pull_leases().changes.item_changes]
            report.check(len(items) == n, f"latency: {len(items)} items leased, not {n}")
            desk_ms = []
            for item_id in items:
                desk.review.decide(item_id, LABEL)
                t0 = time.perf_counter()
                desk.sync.push()
                desk_ms.append((time.perf_counter() - t0) * 1000)
            check_decisions(report, hub, desk.outbox_uuids(), "latency")
        finally:
            desk.close()
        wire = [decision(i, lease) for i, lease in plain_leases(hub, n)]
        with plain_client(hub, hub.tokens["moderator"], f"floor-{uuid.uuid4()}") as http:
            floor_ms = [timed(http.post, "/v1/decisions", json={"decisions": [d]})[0] * 1000 for d in wire]
        check_decisions(report, hub, [d["uuid"] for d in wire], "latency floor")
    finally:
        hub.stop()
    return {"p50": pct(desk_ms, 50), "p95": pct(desk_ms, 95), "floor_p50": pct(floor_ms, 50),
            "floor_p95": pct(floor_ms, 95)}


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


# -- the run ----------------------------------------------------------------------------------------
def run_db(report: Report, root: Path, db: str, pg: PgServer | None, sizes: Sizes) -> None:
    report.say(f"== {db} ==")
    took, push = timed(bench_push, report, root / "push", pg, sizes.decisions)
    report.say(f"  (part 1 with its set-up: {took:.0f} s)")
    n = sizes.decisions
    report.say(f"  push {n} decisions, one desk (SyncService.push, batches of 500): {push['push']:.2f} s "
               f"= {n / push['push']:,.0f}/s; target <= {TARGET_PUSH_S:.0f} s: "
               f"{'met' if push['push'] <= TARGET_PUSH_S else 'NOT met'}")
    for key, label in (("floor", "hub floor, plain httpx, batches of 1,000"),
                       ("encode", "client floor, read + encode the outbox")):
        report.say(f"    {label}: {push[key]:.2f} s (push = {push['push'] / push[key]:.1f}x this)")
    took, lat = timed(bench_latency, report, root / "latency", pg, sizes.latency)
    report.say(f"  (part 3 with its set-up: {took:.0f} s)")
    report.say(f"  decision -> on the hub, online (n={sizes.latency}): p50 {lat['p50']:.1f} ms, "
               f"p95 {lat['p95']:.1f} ms, plus the desk's PUSH_DELAY_MS={PUSH_DELAY_MS} ms before it pushes")
    report.say(f"    floor, one wire decision by plain httpx: p50 {lat['floor_p50']:.1f} ms, "
               f"p95 {lat['floor_p95']:.1f} ms (desk p50 = {lat['p50'] / lat['floor_p50']:.1f}x this)")
    rates = {}
    for workers in (1, 4):
        took, rate = timed(bench_leases, report, root / f"leases-w{workers}", pg, workers, sizes)
        rates[workers] = rate
        report.say(f"  leases/s, --workers {workers}: {sizes.desks} desks {rate['many']:,.0f}/s; "
                   f"1 desk {rate['one']:,.0f}/s ({rate['many'] / rate['one']:.2f}x); part took {took:.0f} s")
    if sizes == Sizes():  # a --quick run's figures mean other sizes: not recorded
        record(f"hub.{db}", push, lat, rates)


def record(prefix: str, push: dict[str, float], lat: dict[str, float], rates: dict[int, dict[str, float]]) -> None:
    """The figures docs/PERFORMANCE.md quotes for one database (bench/figures.py)."""
    figure(f"{prefix}.push_s", push["push"], "s")
    figure(f"{prefix}.floor_s", push["floor"], "s")
    figure(f"{prefix}.encode_s", push["encode"], "s")
    figure(f"{prefix}.push_over_floor_x", push["push"] / push["floor"], "x")
    figure(f"{prefix}.push_over_encode_x", push["push"] / push["encode"], "x")
    for key in ("p50", "p95", "floor_p50", "floor_p95"):
        figure(f"{prefix}.latency.{key}_ms", lat[key], "ms")
    figure(f"{prefix}.latency.over_floor_x", lat["p50"] / lat["floor_p50"], "x")
    for workers, rate in rates.items():
        figure(f"{prefix}.leases.w{workers}.desks50_per_s", rate["many"], "leases/s")
        figure(f"{prefix}.leases.w{workers}.desk1_per_s", rate["one"], "leases/s")
        figure(f"{prefix}.leases.w{workers}.ratio_x", rate["many"] / rate["one"], "x")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed bench still stops its hubs
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer items (2,000 decisions, 5 lease calls a desk)")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args(argv)
    sizes = Sizes(decisions=2_000, calls_per_desk=2, baseline_calls=20, latency=30) if args.quick else Sizes()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    report, pg = Report(), None
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        try:
            if "postgresql" in dbs:
                pg = start_pg(report)
                if pg is None:
                    dbs.remove("postgresql")
            for db in dbs:
                run_db(report, Path(tmp) / db, db, pg if db == "postgresql" else None, sizes)
        finally:
            if pg is not None:
                pg.stop()
    report.say(f"whole run: {time.perf_counter() - t0:.0f} s")
    if not args.quick and args.db == "both":
        figure("hub.run_s", time.perf_counter() - t0, "s")
    if report.failures:
        print(f"bench_hub: {len(report.failures)} correctness check(s) failed", file=sys.stderr)
        return 1
    return 0


def start_pg(report: Report) -> PgServer | None:
    bin_dir = _pg_bin()
    if bin_dir is None:
        report.say("PostgreSQL skipped: no pg_ctl (install the Debian package postgresql)")
        return None
    pg = PgServer(bin_dir)
    pg.start()
    return pg


if __name__ == "__main__":
    sys.exit(main())
