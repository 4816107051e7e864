"""The demo queue `make run` opens: real photos and videos, category hints, two banks, routed."""

from moderator.cli import main
from moderator.demo import ensure_demo
from storage import items as items_repo
from storage.store import Store


def test_demo_store_is_filled_once_and_routed(tmp_path, capsys):
    assert main(["demo", "--data-dir", str(tmp_path), "--json"]) == 0
    assert '"created": 18' in capsys.readouterr().out
    with Store(tmp_path / "demo") as store:
        queue = items_repo.queue(store.db)
        assert ensure_demo(store) is None  # a second start changes nothing
        kinds = {i.kind.value for i in queue}
        categories = {i.category for i in queue}
        closed = store.db.execute("SELECT actor, labels FROM decisions").fetchall()
    assert len(queue) == 17 and kinds == {"image", "video"}
    assert {"gore", "csam_suspected", "sexual", "hate_symbol"} <= categories
    assert queue[0].external_id == "demo-003" and queue[0].suggested_label == "violence_gore"
    assert [tuple(r) for r in closed] == [("bank:demo-known-harmless", '["no_violation"]')]
    assert not (tmp_path / "store.sqlite3").exists()  # the demo never touches the real store
