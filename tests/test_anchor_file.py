"""The anchor file's two slots: written in place one at a time, a torn slot falls back to the other."""

from __future__ import annotations

import json

import pytest

from storage.audit_anchor import ANCHOR_NAME, FORMAT_1, SLOT, Anchor, read_anchor, write_anchor


def head(n: int) -> Anchor:
    return Anchor(n, f"{n:064x}")


def test_each_write_replaces_the_older_slot_in_place(tmp_path):
    path = tmp_path / ANCHOR_NAME
    write_anchor(path, head(1))
    inode = path.stat().st_ino
    first = path.read_bytes()
    write_anchor(path, head(2))
    second = path.read_bytes()
    assert path.stat().st_ino == inode and len(second) == 2 * SLOT  # in place, not a new file
    changed = [i for i in (0, 1) if first[i * SLOT:(i + 1) * SLOT] != second[i * SLOT:(i + 1) * SLOT]]
    assert len(changed) == 1  # the other slot still holds head 1
    write_anchor(path, head(3))
    third = path.read_bytes()
    assert third[changed[0] * SLOT:(changed[0] + 1) * SLOT] == second[changed[0] * SLOT:(changed[0] + 1) * SLOT]
    assert read_anchor(path) == head(3)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_torn_slot_falls_back_to_the_previous_head(tmp_path):
    path = tmp_path / ANCHOR_NAME
    for n in (1, 2, 3):
        write_anchor(path, head(n))
    data = bytearray(path.read_bytes())
    newest = 0 if b'"count":3,' in data[:SLOT] else 1
    data[newest * SLOT + 40:newest * SLOT + 60] = b"\0" * 20  # a crash half-way through the write
    path.write_bytes(bytes(data))
    assert read_anchor(path) == head(2)
    write_anchor(path, head(4))  # the torn slot is the one rewritten
    assert read_anchor(path) == head(4)
    data = path.read_bytes()
    assert b'"count":4' in data[newest * SLOT:(newest + 1) * SLOT]


def test_both_slots_damaged_is_an_error_and_a_rewrite_mends_it(tmp_path):
    path = tmp_path / ANCHOR_NAME
    write_anchor(path, head(1))
    path.write_bytes(b"{" + b"x" * (SLOT - 2) + b"\n" + b"y" * SLOT)
    with pytest.raises(ValueError, match="neither slot"):
        read_anchor(path)
    write_anchor(path, head(5))
    assert read_anchor(path) == head(5)


def test_a_lower_count_written_later_is_what_is_read(tmp_path):
    """The generation, not the count, decides: an anchor re-written after the chain was cut is read as written."""
    path = tmp_path / ANCHOR_NAME
    write_anchor(path, head(9))
    write_anchor(path, head(4))
    assert read_anchor(path) == head(4)


def test_a_format_1_anchor_is_read_then_replaced(tmp_path):
    path = tmp_path / ANCHOR_NAME
    path.write_text(json.dumps({"format": FORMAT_1, "count": 7, "head": "ab" * 32, "key_id": None, "mac": None}))
    assert read_anchor(path) == Anchor(7, "ab" * 32)
    write_anchor(path, head(8))
    assert len(path.read_bytes()) == 2 * SLOT and read_anchor(path) == head(8)


def test_a_head_too_big_for_a_slot_is_refused_before_writing(tmp_path):
    path = tmp_path / ANCHOR_NAME
    write_anchor(path, head(1))
    before = path.read_bytes()
    with pytest.raises(ValueError, match="slot holds"):
        write_anchor(path, Anchor(2, "f" * 600))
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"not json", b'{"format": "something else"}', b"\xff\xfe"])
def test_what_is_not_an_anchor_is_named(tmp_path, content):
    path = tmp_path / ANCHOR_NAME
    path.write_bytes(content)
    with pytest.raises(ValueError):
        read_anchor(path)

