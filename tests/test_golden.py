"""Golden items: `moderator qa golden import` (manifest golden_label, or --label for files), mixed into the
queue at golden_rate in a seeded order, indistinguishable from other items, scored per moderator."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from moderator.cli import main
from moderator.golden import import_golden
from moderator.review import ReviewService
from storage import items as items_repo
from storage import qa as qa_repo
from storage.store import Store
from tests.conftest import import_good_folder, write_image


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def golden_folder(root: Path) -> Path:
    """A manifest of four real (generated) pictures, each with its known answer."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    rows = []
    for n, label in enumerate(("spam", "nudity", "no_violation", "spam")):
        base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        picture = np.kron(base, np.ones((40, 40, 1), dtype=np.uint8))  # blocks: a real, decodable image
        write_image(root / f"g{n}.png", picture)
        rows.append({"path": f"g{n}.png", "golden_label": label, "external_id": f"report-{n}"})
    (root / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "golden.jsonl"


@pytest.fixture
def store4(store_templates, tmp_path):
    s = store_templates.copy("good", import_good_folder, tmp_path / "data")
    yield s
    s.close()


def queued_golden(store: Store, rate: float) -> list[str]:
    answers = qa_repo.golden_answers(store.db)
    return [i.id for i in items_repo.queue(store.db, golden_rate=rate) if i.id in answers]


def test_golden_items_mix_in_at_the_rate_in_the_seeded_order(store4, tmp_path, policy):
    report = import_golden(store4, [golden_folder(tmp_path / "g")], "lead", policy, seed=3)
    order = [item_id for item_id, _ in report.golden]
    assert len(order) == 4 and len(items_repo.queue(store4.db)) == 4  # held out at rate 0
    # 4 other items: rate r mixes in floor(r / (1 - r) * 4) golden ones, the first in the seeded order
    assert queued_golden(store4, 0.2) == order[:1]
    assert sorted(queued_golden(store4, 0.34)) == sorted(order[:2])
    assert sorted(queued_golden(store4, 0.5)) == sorted(order)
    with Store(tmp_path / "other") as other:  # the same seed over the same files: the same order
        again = import_golden(other, [golden_folder(tmp_path / "g2")], "lead", policy, seed=3)
        names = lambda s, ids: [s.db.execute("SELECT external_id FROM items WHERE id = ?", (i,)).fetchone()[0]  # noqa: E731
                                for i in ids]
        assert names(other, [i for i, _ in again.golden]) == names(store4, order)


def test_a_golden_item_looks_like_any_other_and_is_scored_per_moderator(store4, tmp_path, policy):
    report = import_golden(store4, [golden_folder(tmp_path / "g")], "lead", policy, seed=1)
    answers = dict(report.golden)
    service = ReviewService(store4, policy, "alice", golden_rate=0.5)
    queue = service.queue()
    golden = [i for i in queue if i.id in answers]
    plain = [i for i in queue if i.id not in answers]
    assert len(golden) == 4 and len(plain) == 4
    assert {f.name for f in dataclasses.fields(golden[0])} == {f.name for f in dataclasses.fields(plain[0])}
    shown = [{k: v for k, v in dataclasses.asdict(i).items() if k != "media_path"} for i in golden]  # tmp path names the test
    assert all("gold" not in json.dumps(fields, default=str) for fields in shown)
    first, second = golden[0].id, golden[1].id
    service.decide(first, answers[first][0])  # right
    wrong = next(lb.name for lb in policy.labels if lb.name not in answers[second])
    service.decide(second, wrong)
    ReviewService(store4, policy, "bob").decide(first, wrong if wrong not in answers[first] else "hate_symbol")
    service.decide(plain[0].id, "spam")  # not golden: not scored
    assert qa_repo.golden_scores(store4.db) == {"alice": (2, 1), "bob": (1, 0)}
    service.undo_last()  # an undone decision no longer counts
    assert qa_repo.golden_scores(store4.db) == {"alice": (2, 1), "bob": (1, 0)}
    service.undo_last()
    assert qa_repo.golden_scores(store4.db) == {"alice": (1, 1), "bob": (1, 0)}


def test_cli_imports_a_folder_with_label_and_refuses_rows_without_an_answer(capsys, tmp_path):
    data = tmp_path / "data"
    manifest = golden_folder(tmp_path / "g")
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    rows[2].pop("golden_label")
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run(capsys, "qa", "golden", "import", manifest, "--data-dir", data)
    assert code == 2 and "golden.jsonl:3: no known answer" in err and len(err.splitlines()) == 1
    assert not data.exists()  # refused before a store was made
    code, _, err = run(capsys, "qa", "golden", "import", manifest, "--label", "nonsense", "--data-dir", data)
    assert code == 2 and "unknown label 'nonsense'" in err and not data.exists()
    code, out, _ = run(capsys, "qa", "golden", "import", manifest, "--label", "spam", "--json", "--data-dir", data)
    golden = json.loads(out)["golden"]
    assert code == 0 and sorted(g["labels"][0] for g in golden) == ["nudity", "spam", "spam", "spam"]
    folder = tmp_path / "plain"
    folder.mkdir()
    write_image(folder / "p.png", np.kron(np.arange(64, dtype=np.uint8).reshape(8, 8, 1).repeat(3, 2),
                                          np.ones((30, 30, 1), dtype=np.uint8)))
    assert run(capsys, "qa", "golden", "import", folder, "--data-dir", data)[0] == 2
    code, out, _ = run(capsys, "qa", "golden", "import", folder, "--label", "hate_symbol", "--data-dir", data)
    assert code == 0 and "imported 1" in out
    with Store(data) as s:
        assert len(qa_repo.golden_answers(s.db)) == 5
        assert s.db.execute("SELECT COUNT(*) FROM audit_log WHERE event = 'golden_add'").fetchone()[0] == 5
    code, _, err = run(capsys, "qa", "golden", "import", tmp_path / "missing", "--data-dir", data)
    assert code == 2 and "no such file or folder" in err
