"""IndexCache under concurrent adds: a thread bringing a bank's index up to date (as sync will, while
entries arrive) never disturbs a query running on another thread. Each query must find every entry
that was in the bank before it began, and nothing may raise; before the read-write lock, a query
could see an index half-way through an add (new rows counted, their entry ids not yet mapped, or a
segment merge in progress) and fail or miss entries."""

from __future__ import annotations

import sys
import threading

import numpy as np

from moderator.matching import Matcher
from moderator.policy import load_policy
from moderator.signals import PDQ
from storage import banks as banks_repo
from storage.store import Store
from tests.conftest import photo, write_image

BATCHES = 6
BATCH = 9_000  # over HashIndex.FLAT_MAX: every add seals a segment, and segments merge


def near(hex_str: str, bits: list[int]) -> str:
    value = int(hex_str, 16)
    for b in bits:
        value ^= 1 << b
    return f"{value:064x}"


def test_queries_during_adds_are_exact_and_never_fail(tmp_path):
    image = write_image(tmp_path / "coffee.png", photo("coffee")[::8, ::8])  # small: queries come fast
    query = PDQ.hash_file(image).hex
    rng = np.random.default_rng(7)
    with Store(tmp_path / "data") as store:
        banks_repo_rows = [("pdq", query, "known", "test", "")]
        store.write(lambda db: banks_repo.create_bank(db, _bank()))
        store.write(banks_repo.add_entries, "b", banks_repo_rows, "lead")
        matcher = Matcher(store, load_policy())
        (known,) = matcher.query_file(image)
        failures: list[BaseException] = []
        missed: list[int] = []
        done = threading.Event()

        def add() -> None:
            try:
                for n in range(BATCHES):
                    randoms = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(BATCH)]
                    # near copies of the query in every batch: a query racing the add finds new ids
                    planted = [near(query, [n * 7 + 1, k]) for k in range(200, 208)]
                    rows = [("pdq", h, "noise", "test", "") for h in randoms + planted]
                    store.write(banks_repo.add_entries, "b", rows, "lead")
                    matcher.cache.current(store.db)  # bring the index up to date on this thread
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                failures.append(exc)
            finally:
                done.set()

        def query_loop() -> None:
            try:
                while not done.is_set():
                    found = {m.entry_id for m in matcher.query_file(image)}
                    if known.entry_id not in found:
                        missed.append(len(found))
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)

        threads = [threading.Thread(target=add), *(threading.Thread(target=query_loop) for _ in range(3))]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # switch threads often (the desk runs at 1 ms): more interleavings
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
        finally:
            sys.setswitchinterval(interval)
        assert failures == [] and missed == []
        found = matcher.query_file(image)
        assert len(found) == 1 + BATCHES * 8  # every planted copy, once each
        assert all(m.distance <= 2 for m in found)


def _bank():
    from moderator.clock import now_iso
    from moderator.domain import Bank, BankAction, BankKind

    return Bank(name="b", kind=BankKind.BLOCK, signal_type="pdq", threshold=31, action=BankAction.FLAG,
                created_at=now_iso(), description=None)
