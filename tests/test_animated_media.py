"""Animated GIF, WebP and APNG and multi-page TIFF are frame sequences: every frame is shown (as a
filtered contact sheet), hashed and matched, and checked against the pixel and frame limits."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from moderator.banks import BankService
from moderator.cli import main
from moderator.domain import FilterSpec
from moderator.ingest import import_paths
from moderator.matching import match_pending
from moderator.signals import PDQ
from storage import banks as banks_repo
from tests.conftest import photo, write_image
from tests.desk_helpers import open_desk, painted_picture, saturation

SIDE = 256
FORMATS = {"gif": "GIF", "webp": "WEBP", "png": "PNG", "tiff": "TIFF"}
# Frame 0 is a flat benign grey; what follows is not. Frame 5 is the one a bank knows.
LATER = ("astronaut", "coffee", "rocket", "camera", "chelsea")


def frames() -> list[np.ndarray]:
    grey = np.full((SIDE, SIDE, 3), 128, np.uint8)
    return [grey] + [cv2.resize(photo(n), (SIDE, SIDE), interpolation=cv2.INTER_AREA) for n in LATER]


def write_animation(path: Path, pictures: list[np.ndarray]) -> Path:
    """An animated GIF/WebP/APNG or a multi-page TIFF, written by Pillow."""
    ims = [Image.fromarray(p) for p in pictures]
    fmt = FORMATS[path.suffix[1:]]
    extra = {"lossless": True} if fmt == "WEBP" else {}
    ims[0].save(path, fmt, save_all=True, append_images=ims[1:], duration=200, loop=0, **extra)
    return path


# -- what the desk shows --------------------------------------------------------------------------
def test_desk_shows_a_filtered_contact_sheet_of_every_frame_not_frame_0(qtbot, store, policy, tmp_path):
    (tmp_path / "in").mkdir()
    gif = write_animation(tmp_path / "in" / "loop.gif", frames())
    import_paths(store, [gif], "tester")
    window = open_desk(qtbot, store, policy)
    prepared = window.viewer.prepared
    assert prepared.frames >= 4  # a sheet of the later frames too, not the grey frame 0 alone
    assert prepared.filtered.isGrayscale() and not prepared.original.isGrayscale()
    shown = painted_picture(window.viewer)
    assert shown.shape[1] > shown.shape[0] * 1.2  # a sheet of cells, wider than one square frame
    assert saturation(shown).max() <= 8  # no colour from astronaut's suit or the coffee cup
    gray = cv2.cvtColor(shown, cv2.COLOR_RGB2GRAY)
    assert gray.std() > 10  # more than a flat grey: the later frames are there, blurred
    window.runner.wait()


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_every_animated_format_previews_as_a_sheet_of_its_frames(tmp_path, ext):
    from blurring.preview import keyframe_sheets

    path = write_animation(tmp_path / f"a.{ext}", frames())
    filtered, original, count = keyframe_sheets(path, FilterSpec(), (960, 540))
    assert count >= 4 and filtered.ndim == 2
    assert saturation(original).max() > 100  # the unfiltered sheet holds the colour frames
    assert filtered.shape[1] > SIDE * 1.5  # several cells wide, not one 256x256 frame


def test_a_still_image_is_still_one_picture(tmp_path):
    from blurring.preview import keyframe_sheets, render_preview

    path = write_image(tmp_path / "still.png", frames()[1])
    assert keyframe_sheets(path, FilterSpec(), (960, 540))[2] == 1
    assert render_preview(path, FilterSpec(), (960, 540)).shape == (SIDE, SIDE)


def test_preview_cli_of_an_animated_gif_is_a_contact_sheet(tmp_path):
    gif = write_animation(tmp_path / "a.gif", frames())
    out = tmp_path / "p.png"
    assert main(["preview", str(gif), "--out", str(out), "--size", "960x540"]) == 0
    sheet = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert sheet.ndim == 2 and sheet.shape[1] > SIDE * 1.5 and sheet.std() > 10


# -- hashing and matching -------------------------------------------------------------------------
@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_a_bank_of_only_frame_5_matches_the_animation(store, policy, tmp_path, ext):
    pictures = frames()
    known = write_image(tmp_path / "known.png", pictures[5])  # the bank's copy, as banked elsewhere
    (tmp_path / "bank.csv").write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(known).hex},csam,ncmec\n")
    BankService(store, policy, "lead").import_bank(tmp_path / "bank.csv", "known", kind="block", action="flag")
    (tmp_path / "in").mkdir()
    report = import_paths(store, [write_animation(tmp_path / "in" / f"a.{ext}", pictures)], "tester")
    assert not report.skipped, report.skipped
    summary = match_pending(store, policy)
    assert summary.matched == 1, summary
    (m,) = banks_repo.matches_for_item(store.db, report.imported[0])
    assert m.label == "csam" and m.distance <= PDQ.default_threshold
    stored = banks_repo.hashes_for_item(store.db, report.imported[0])
    frame_rows = {r[3] for r in stored if r[0] == "pdq" and r[3] is not None}
    assert 5 in frame_rows  # the frame's hash is kept as evidence, with its index


def test_an_animation_with_no_banked_frame_does_not_match(store, policy, tmp_path):
    unrelated = write_image(tmp_path / "other.png", cv2.resize(photo("hubble_deep_field"), (SIDE, SIDE)))
    (tmp_path / "bank.csv").write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(unrelated).hex},x,y\n")
    BankService(store, policy, "lead").import_bank(tmp_path / "bank.csv", "known", kind="block", action="flag")
    (tmp_path / "in").mkdir()
    import_paths(store, [write_animation(tmp_path / "in" / "a.gif", frames())], "tester")
    assert match_pending(store, policy).matched == 0


# -- limits at import -----------------------------------------------------------------------------
_PIXEL_FRAME = b"\x02\x02\x44\x01\x00"  # LZW data of one pixel of colour 0 (min code size 2)


def handmade_gif(path: Path, frame_sizes: list[tuple[int, int]], screen: tuple[int, int] = (1, 1)) -> Path:
    """A GIF whose frames declare the given sizes; frame 0 (1x1) decodes, later ones only declare."""
    head = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    body = b"".join(b"," + struct.pack("<HHHHB", 0, 0, w, h, 0) + _PIXEL_FRAME for w, h in frame_sizes)
    path.write_bytes(head + body + b";")
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda p: handmade_gif(p, [(1, 1)] * 5 + [(8000, 8000)]),
     "image too large: a frame of 8000x8000 pixels exceeds the 50 MP limit"),
    (lambda p: handmade_gif(p, [(1, 1)] * 1001), "too many frames: more than 1000"),
    (lambda p: handmade_gif(p, [(1, 1)] * 260, screen=(1000, 1000)),
     "animation too large: 260 frames of up to 1000x1000 pixels, 260 MP in all, exceed the 250 MP limit"),
], ids=["later-frame-too-large", "too-many-frames", "too-many-pixels"])
def test_an_animation_over_the_limits_is_refused_at_import_with_one_line(store, tmp_path, make, reason):
    path = make(tmp_path / "bad.gif")
    report = import_paths(store, [path], "tester")
    assert report.imported == []
    (skipped,) = report.skipped
    assert skipped.reason.startswith(reason) and "\n" not in skipped.reason


def test_verify_decodes_every_frame_so_a_broken_later_frame_is_refused(store, tmp_path):
    good = write_animation(tmp_path / "good.gif", frames()).read_bytes()
    # Keep frame 0 whole and cut the file in the middle of a later frame's data.
    cut = tmp_path / "cut.gif"
    cut.write_bytes(good[: len(good) * 2 // 3])
    report = import_paths(store, [cut], "tester")
    assert report.imported == [] and "truncated or corrupt" in report.skipped[0].reason


@pytest.mark.parametrize("banked", ["first frame only", "every frame"])
def test_an_allow_bank_closes_an_animation_only_when_every_frame_is_known_good(store, policy, tmp_path, banked):
    benign = cv2.resize(photo("hubble_deep_field"), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    pictures = [benign] + frames()[1:]
    known = pictures[:1] if banked == "first frame only" else pictures
    lines = [f"pdq,{PDQ.hash_file(write_image(tmp_path / f'k{n}.png', p)).hex},benign,us" for n, p in enumerate(known)]
    (tmp_path / "bank.csv").write_text("signal_type,hash,label,source\n" + "\n".join(lines) + "\n")
    BankService(store, policy, "lead").import_bank(tmp_path / "bank.csv", "good", kind="allow", action="allow")
    (tmp_path / "in").mkdir()
    report = import_paths(store, [write_animation(tmp_path / "in" / "a.gif", pictures)], "tester")
    match_pending(store, policy)
    closed = store.db.execute("SELECT COUNT(*) FROM decisions WHERE item_id = ? AND actor = 'bank:good'",
                              report.imported).fetchone()[0]
    assert closed == (1 if banked == "every frame" else 0)
