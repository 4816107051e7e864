"""`moderator preview` writes what the desk would show; `moderator settings` validates all or nothing."""

import json

import cv2
import numpy as np
import pytest

from moderator.cli import main
from moderator.settings import Settings, load_settings
from tests.conftest import photo, write_image


@pytest.fixture
def jpeg(tmp_path):
    return write_image(tmp_path / "astronaut.jpg", photo("astronaut"))


def sharpness(path) -> float:
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_preview_default_is_blurred_gray(tmp_path, jpeg, capsys):
    out = tmp_path / "p.png"
    assert main(["preview", str(jpeg), "--out", str(out), "--size", "400x300"]) == 0
    img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert img.ndim == 2 and max(img.shape) <= 400  # gray, fitted inside 400x300
    sharp = tmp_path / "sharp.png"
    assert main(["preview", str(jpeg), "--out", str(sharp), "--blur", "0", "--no-grayscale"]) == 0
    assert cv2.imread(str(sharp), cv2.IMREAD_UNCHANGED).ndim == 3
    assert sharpness(out) * 20 < sharpness(sharp)


def test_preview_category_and_style(tmp_path, jpeg):
    csam = tmp_path / "c.png"
    assert main(["preview", str(jpeg), "--out", str(csam), "--category", "csam_suspected"]) == 0
    drawing = tmp_path / "d.png"
    assert main(["preview", str(jpeg), "--out", str(drawing), "--style", "drawing", "--blur", "0"]) == 0
    assert sharpness(csam) < sharpness(tmp_path / "c.png") + 1  # exists and readable
    assert np.unique(cv2.imread(str(drawing), cv2.IMREAD_GRAYSCALE)).size > 2


def test_preview_of_a_video_is_a_contact_sheet(tmp_path):
    from moderator.demo import _write_video

    _write_video(tmp_path / "v.mp4", [photo("astronaut"), photo("coffee")])
    out = tmp_path / "sheet.png"
    assert main(["preview", str(tmp_path / "v.mp4"), "--out", str(out)]) == 0
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED) is not None


@pytest.mark.parametrize("argv, code, needle", [
    (["--blur", "7"], 2, "--blur and --pixelate take 0..6"),
    (["--size", "big"], 2, "--size must look like 1920x1080"),
    (["--style", "oil"], 2, "invalid choice"),
])
def test_preview_usage_errors(tmp_path, jpeg, capsys, argv, code, needle):
    out = tmp_path / "p.png"
    try:
        got = main(["preview", str(jpeg), "--out", str(out), *argv])
    except SystemExit as exc:
        got = exc.code
    assert got == code and needle in capsys.readouterr().err and not out.exists()


def test_preview_of_a_bad_file_exits_1(tmp_path, capsys):
    bad = tmp_path / "x.jpg"
    bad.write_text("not an image")
    assert main(["preview", str(bad), "--out", str(tmp_path / "p.png")]) == 1
    assert "x.jpg:" in capsys.readouterr().err and not (tmp_path / "p.png").exists()


def test_settings_set_is_all_or_nothing(capsys):
    assert main(["settings", "--set", "blur", "4", "--set", "reveal_seconds", "2"]) == 0
    assert load_settings().blur == 4 and load_settings().reveal_seconds == 2.0
    assert main(["settings", "--set", "blur", "5", "--set", "spotlight_radius", "5"]) == 2
    assert "spotlight_radius: expected an integer 20..800, got 5 (nothing changed)" in capsys.readouterr().err
    assert load_settings().blur == 4  # the good half of a bad command changed nothing
    assert main(["settings", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["blur"] == 4 and shown["path"].endswith("settings.toml")


def test_settings_file_errors_are_one_line(tmp_path, capsys):
    assert main(["settings", "--set", "nonsense", "1"]) == 2
    assert "unknown settings: nonsense" in capsys.readouterr().err
    assert load_settings() == Settings()


def test_the_settings_form_covers_every_setting_within_valid_ranges():
    import dataclasses

    from moderator.settings import FORM

    names = [f.name for f in dataclasses.fields(Settings)]
    assert sorted(FORM) == sorted(names)
    for name, (_label, low, high) in FORM.items():
        if low is not None:  # the dialog's limits are values the settings accept
            Settings(**{name: type(getattr(Settings(), name))(low)}).validate()
            Settings(**{name: type(getattr(Settings(), name))(high)}).validate()


@pytest.mark.parametrize("category", ["csam_suspected", "CSAM-Suspected", " csam_suspected"])
@pytest.mark.parametrize("lowering", [["--blur", "0"], ["--no-grayscale"], ["--blur", "5"]])
def test_no_flag_lowers_the_csam_floor_in_a_preview(tmp_path, jpeg, capsys, category, lowering):
    out = tmp_path / "p.png"
    code = main(["preview", str(jpeg), "--out", str(out), "--category", category, *lowering])
    err = capsys.readouterr().err
    assert code == 2 and "cannot lower it" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_preview_category_is_normalised_and_checked(tmp_path, jpeg, capsys):
    strict = tmp_path / "strict.png"
    assert main(["preview", str(jpeg), "--out", str(strict), "--category", "CSAM-Suspected"]) == 0
    normal = tmp_path / "normal.png"
    assert main(["preview", str(jpeg), "--out", str(normal)]) == 0
    assert sharpness(strict) < sharpness(normal)  # blur 6, not the default 3
    capsys.readouterr()
    assert main(["preview", str(jpeg), "--out", str(tmp_path / "x.png"), "--category", "kittens"]) == 2
    assert "known:" in capsys.readouterr().err
