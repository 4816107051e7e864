"""Import with several files in flight (ingest.IMPORT_WORKERS) keeps the plain loop's results: the
report in entry order, every bad file named, one item per report, duplicates in the same run refused
or sharing one media row and file, the same stored hashes. Correctness only: speed is bench/bench_import.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from moderator.ingest import import_paths
from storage import items as items_repo
from storage.store import Store
from tests.conftest import PHOTOS, photo, write_image
from tests.test_import_crash import assert_row_and_file_together


def folder_of(tmp_path: Path, copies: int = 4) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for n in range(copies * len(PHOTOS)):
        rgb = photo(PHOTOS[n % len(PHOTOS)])[n:n + 300, n:n + 400]
        paths.append(write_image(folder / f"p{n:02}.jpg", np.ascontiguousarray(rgb)))
    (folder / "p99-bad.jpg").write_bytes(paths[0].read_bytes()[:3000])  # truncated
    (folder / "p98-text.jpg").write_text("not an image")
    return sorted(folder.iterdir())


def stored(store: Store, item_ids: list[str]) -> list[tuple]:
    out = []
    for item_id in item_ids:
        item = items_repo.get_item(store.db, item_id)
        out.append((item.source_name, sorted(map(repr, items_repo.media_hashes(store.db, item.sha256)))))
    return out


def test_several_in_flight_give_the_plain_loops_result(tmp_path):
    paths = folder_of(tmp_path)
    reports = {}
    for workers in (1, 4):
        with Store(tmp_path / f"data{workers}") as store:
            report = import_paths(store, paths, "tester", hash_dihedral=True, workers=workers)
            reports[workers] = (report, [r[0] for r in stored(store, report.imported)],
                                [r[1] for r in stored(store, report.imported)])
        assert_row_and_file_together(tmp_path / f"data{workers}")
    (one, names1, hashes1), (four, names4, hashes4) = reports[1], reports[4]
    good = [p.name for p in paths if "bad" not in p.name and "text" not in p.name]
    assert names1 == names4 == good  # the report follows the entries' order
    assert hashes1 == hashes4 and all(len(h) == 4 + 8 for h in hashes4)  # pdq, phash, md5, sha256, 8 variants
    assert [s.origin for s in one.skipped] == [s.origin for s in four.skipped] and len(four.skipped) == 2
    assert [s.reason for s in one.skipped] == [s.reason for s in four.skipped]
    assert [str(four.sources[i].path) for i in four.imported] == [str(tmp_path / "in" / n) for n in good]


def test_the_same_content_twice_in_one_run(tmp_path):
    """Copies of one file imported at once: refused as duplicates (one item), or with
    --allow-duplicates one item each, sharing one media row and one cached file; no file left over."""
    src = write_image(tmp_path / "a.jpg", photo("astronaut"))
    folder = tmp_path / "copies"
    folder.mkdir()
    for n in range(8):
        (folder / f"c{n}.jpg").write_bytes(src.read_bytes())
    with Store(tmp_path / "dedupe") as store:
        report = import_paths(store, [folder], "tester", workers=4)
    assert len(report.imported) == 1 and len(report.skipped) == 7
    assert all(s.reason.startswith("duplicate of item ") for s in report.skipped)
    assert assert_row_and_file_together(tmp_path / "dedupe") == 1
    with Store(tmp_path / "shared") as store:
        report = import_paths(store, [folder], "tester", allow_duplicates=True, workers=4)
        assert len(report.imported) == 8 and not report.skipped
        assert store.db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 1
    assert assert_row_and_file_together(tmp_path / "shared") == 8


def test_one_external_id_twice_in_one_run(tmp_path):
    write_image(tmp_path / "a.jpg", photo("astronaut"))
    write_image(tmp_path / "b.jpg", photo("coffee"))
    rows = [{"path": "a.jpg", "external_id": "r-1"}, {"path": "b.jpg", "external_id": "r-1"}] * 3
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with Store(tmp_path / "data") as store:
        report = import_paths(store, [tmp_path / "m.jsonl"], "tester", workers=4)
    assert len(report.imported) == 1 and len(report.skipped) == 5
    assert all("external_id r-1 already imported" in s.reason for s in report.skipped)
    assert assert_row_and_file_together(tmp_path / "data") == 1
