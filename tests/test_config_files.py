"""Files a person edits (policy, keymap, settings): every mistake is one line naming the file and
the key, the safety floors cannot be lowered, and `moderator desk` never dies on a bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from moderator.cli import main
from moderator.domain import CSAM_CATEGORY, CSAM_FLOOR, FilterSpec, Reveal
from moderator.key_names import KEY_ALIASES, MODIFIERS, NAMED_KEYS, canonical
from moderator.keymap import KeymapError, load_keymap
from moderator.policy import DEFAULT_FLOOR, PolicyError, load_policy
from moderator.settings import FORM, Settings, SettingsError, load_settings, settings_path
from storage.store import Store

LABEL = '[[labels]]\nkey = "1"\nname = "ok"\naction = "allow"\nseverity = 0\n'
HEAD = 'version = "1"\n'


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def one_line_error(exc: Exception, path: Path, needle: str) -> None:
    text = str(exc)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    assert needle in text, text


# -- policy ---------------------------------------------------------------------------------------

BAD_POLICIES = [
    (HEAD + "filters = 5\n" + LABEL, "filters: expected a table, got 5"),
    (HEAD + "[filters]\ndefault = 5\n" + LABEL, "filters.default: expected a table, got 5"),
    (HEAD + "[filters]\ncategory = 5\n" + LABEL, "filters.category: expected a table, got 5"),
    (HEAD + "[filters.category]\ngore = 5\n" + LABEL, "filters.category.gore: expected a table, got 5"),
    (HEAD + "[filters.default]\nblur = \"3\"\n" + LABEL, "filters.default.blur: expected an integer 0..6, got '3'"),
    (HEAD + "[filters.default]\nblur = 1.5\n" + LABEL, "filters.default.blur: expected an integer 0..6"),
    (HEAD + "[filters.default]\nblur = true\n" + LABEL, "filters.default.blur: expected an integer 0..6, got True"),
    (HEAD + "[filters.default]\ngrayscale = \"no\"\n" + LABEL, "filters.default.grayscale: expected true or false"),
    (HEAD + "[filters.default]\npixelate = -1\n" + LABEL, "filters.default.pixelate: expected an integer 0..6"),
    (HEAD + "[filters.default]\nreveal = \"maybe\"\n" + LABEL, "filters.default.reveal: expected one of 'full'"),
    (HEAD + "[filters.default]\nstyle = 5\n" + LABEL, "filters.default.style: expected one of '', 'drawing'"),
    (HEAD + "[filters.default]\nblurr = 3\n" + LABEL, "filters.default.blurr: expected a known key (blur"),
    (HEAD + "[filters.category.gore]\nreveal = []\n" + LABEL, "filters.category.gore.reveal: expected one of"),
    (HEAD + "[filter.default]\nblur = 3\n" + LABEL, "filter: expected a known key (version, labels, filters, floors, escalation)"),
    (HEAD + "labels = 5\n", "labels: expected a non-empty array of [[labels]] tables, got 5"),
    (HEAD + "labels = []\n", "labels: expected a non-empty array"),
    (HEAD + "labels = [5]\n", "labels[0]: expected a table, got 5"),
    (HEAD + LABEL.replace("severity = 0", 'severity = "x"'), "labels[0].severity: expected an integer 0..10, got 'x'"),
    (HEAD + LABEL.replace("severity = 0", "severity = 99"), "labels[0].severity: expected an integer 0..10, got 99"),
    (HEAD + LABEL.replace("severity = 0", "severity = true"), "labels[0].severity: expected an integer 0..10"),
    (HEAD + LABEL.replace("severity = 0", "serverity = 1"), "labels[0].serverity: expected a known key"),
    (HEAD + LABEL.replace('key = "1"', "key = true"), "labels[0].key: expected a digit 1..9, got True"),
    (HEAD + LABEL.replace('key = "1"', "key = 1.5"), "labels[0].key: expected a digit 1..9, got 1.5"),
    (HEAD + LABEL.replace('name = "ok"', "name = 5"), "labels[0].name: expected a category or label name, got 5"),
    (HEAD + LABEL.replace('name = "ok"', 'name = " - "'), "labels[0].name: expected a category or label name"),
    (HEAD + LABEL.replace('key = "1"', ""), "labels[0].key: expected a value (key, name and action are required)"),
    (HEAD + LABEL + 'title = ["x"]\n', "labels[0].title: expected a string, got ['x']"),
    (HEAD + LABEL.replace('"allow"', "5"), "labels[0].action: expected one of 'allow', 'remove'"),
    (HEAD + LABEL + LABEL.replace('"1"', '"2"').replace('"ok"', '"OK"'),
     "labels: expected each label name once, got duplicate label name: ok"),
    ("version = []\n" + LABEL, "version: expected a non-empty string, got []"),
    (LABEL, "version: expected a string naming this policy's version, got nothing"),
    (b'version = "\xff"\n', "cannot read policy: not UTF-8 text (byte 0xff at offset 11)"),
    ("a = " + "[" * 5000, "cannot read policy: values nested too deeply"),
    ("a = " + "{b = " * 5000, "cannot read policy: values nested too deeply"),
    ("a" + ".a" * 300 + " = 1\n", "cannot read policy: expected at most 200 dots on a line (line 1)"),
]


@pytest.mark.parametrize("text, needle", BAD_POLICIES)
def test_a_wrong_policy_value_is_one_line_naming_the_key(tmp_path, text, needle):
    path = write(tmp_path / "policy.toml", text)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    one_line_error(err.value, path, needle)


FLOOR_BREAKERS = [
    ("[filters.default]\nblur = 0\ngrayscale = false\n", "filters.default: expected blur >= 1, grayscale = true"),
    ("[filters.default]\nblur = 0\n", "filters.default: expected blur >= 1"),
    ("[filters.default]\nblur = 4\ngrayscale = false\n", "got blur 4, grayscale false"),
    ("[filters.default]\nblur = 0\npixelate = 6\nstyle = \"drawing\"\n", "filters.default: expected blur >= 1"),
    ("[filters.category.csam_suspected]\nblur = 0\ngrayscale = false\n",
     "filters.category.csam_suspected: expected blur >= 6, grayscale = true, reveal = 'none'"),
    ("[filters.category.csam_suspected]\nblur = 5\n", "got blur 5, grayscale true, reveal 'none'"),
    ("[filters.category.csam_suspected]\ngrayscale = false\n", "got blur 6, grayscale false"),
    ("[filters.category.csam_suspected]\nreveal = \"full\"\n", "reveal 'full'"),
    ("[filters.category.csam_suspected]\nreveal = \"peek\"\n", "reveal 'peek'"),
    ("[filters.category.CSAM-Suspected]\nblur = 2\n", "filters.category.CSAM-Suspected: expected blur >= 6"),
    ('[filters.category." csam suspected "]\nreveal = "full"\n', "a floor no policy lowers"),
]


@pytest.mark.parametrize("filters, needle", FLOOR_BREAKERS)
def test_a_policy_below_the_safety_floors_is_refused(tmp_path, filters, needle):
    path = write(tmp_path / "team.toml", HEAD + filters + LABEL)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    one_line_error(err.value, path, needle)
    assert "a floor no policy lowers" in str(err.value)


def test_a_policy_without_a_csam_section_gets_exactly_the_floor(tmp_path):
    policy = load_policy(write(tmp_path / "p.toml", HEAD + LABEL))
    assert policy.category_filters[CSAM_CATEGORY] == FilterSpec().stricter(CSAM_FLOOR)
    assert policy.default_filter.stricter(DEFAULT_FLOOR) == policy.default_filter


@pytest.mark.parametrize("section", ["CSAM-Suspected", "CSAM_SUSPECTED", " csam suspected "])
def test_category_sections_are_normalised(tmp_path, section):
    text = HEAD + f'[filters.category."{section}"]\npixelate = 3\n' + LABEL
    policy = load_policy(write(tmp_path / "p.toml", text))
    assert set(policy.category_filters) == {CSAM_CATEGORY}
    assert policy.category_filters[CSAM_CATEGORY] == FilterSpec(blur=6, grayscale=True, pixelate=3, reveal=Reveal.NONE)


def test_label_names_are_normalised_and_get_their_category_rule(tmp_path):
    text = HEAD + "[filters.category.self_harm]\nblur = 5\n" + LABEL.replace('"ok"', '" Self-Harm "')
    label = load_policy(write(tmp_path / "p.toml", text)).labels[0]
    assert label.name == "self_harm" and label.filter is not None and label.filter.blur == 5


def test_the_same_category_twice_after_normalising_is_refused(tmp_path):
    text = HEAD + "[filters.category.gore]\nblur = 4\n[filters.category.Gore]\nblur = 5\n" + LABEL
    path = write(tmp_path / "p.toml", text)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    one_line_error(err.value, path, "filters.category.Gore: expected one section per category")


# -- keymap ---------------------------------------------------------------------------------------

BAD_KEYMAPS = [
    ("keys = 5\n", "keys: expected a table, got 5"),
    ("[keyz]\nundo = [\"U\"]\n", "keyz: expected a known key (keys)"),
    ("[keys]\nundo = []\n", "keys.undo: expected a key sequence or a non-empty list of them"),
    ("[keys]\nundo = 5\n", "keys.undo: expected a key sequence or a non-empty list of them"),
    ("[keys]\nundo = [5]\n", "keys.undo: expected a key sequence or a non-empty list of them"),
    ("[keys]\nnext = {a = 1}\n", "keys.next: expected a key sequence or a non-empty list of them, "
                                 "like [\"Ctrl+Z\"], got {'a': 1}"),
    ("[keys]\nundo = [\"Ctrl+Banana+Q\"]\n", "keys.undo[0]: expected a key sequence like Ctrl+Z"),
    ("[keys]\nundo = \"Ctrl+Banana+Q\"\n", "keys.undo: expected a key sequence like Ctrl+Z"),
    ("[keys]\nundo = [\"Z\", \"Banana\"]\n", "keys.undo[1]: expected a key sequence"),
    ("[keys]\nundo = [\"Z+Ctrl\"]\n", "'Z' is not a modifier"),
    ("[keys]\nundo = [\"Ctrl+\"]\n", "a key after the last '+'"),
    ("[keys]\nundo = [\"Ctrl\"]\n", "a modifier on its own (Ctrl) is only a hold key"),
    ("[keys]\nundo = [\"Ctrl+Alt\"]\n", "a key after the modifier Alt"),
    ("[keys]\nundo = [\"F36\"]\n", "'F36' is not a key name"),
    ("[keys]\nundo = [\"\"]\n", "an empty key"),
    ("[keys]\nundo = [\"\\n\"]\n", "an empty key"),
    ("[keys]\nundo = [\"\\u0007\"]\n", "is not a key (write Space, Tab"),
    ("[keys]\npeek = [\"Ctrl+P\"]\n", "keys.peek[0]: expected a key sequence like Ctrl+Z, F1 or ] "
                                      "(a hold key is one key, without modifiers)"),
    ("[keys]\nskip = [\"J\"]\n", "key 'J' is bound to both next and skip"),
    ("[keys]\nskip = [\"1\"]\n", "key '1' is bound to both label:no_violation and skip"),
    ("[keys]\nundo = [\"ctrl+j\"]\nnext = [\"Ctrl+J\"]\n", "key 'Ctrl+J' is bound to both next and undo"),
    ("[keys]\nfly = [\"F\"]\n", "keys.fly: expected a known key (next, previous"),
    (b"[keys]\nundo = [\"\xe9\"]\n", "cannot read keymap: not UTF-8 text (byte 0xe9 at offset 16)"),
    ("[keys\n", "cannot read keymap"),
]


@pytest.mark.parametrize("text, needle", BAD_KEYMAPS)
def test_a_wrong_keymap_entry_is_one_line_naming_the_command(tmp_path, policy, text, needle):
    path = write(tmp_path / "keymap.toml", text)
    with pytest.raises(KeymapError) as err:
        load_keymap(path, policy)
    one_line_error(err.value, path, needle)


@pytest.mark.parametrize("written, canonical_form", [
    ("ctrl+shift+z", "Ctrl+Shift+Z"), ("Shift+Ctrl+Z", "Ctrl+Shift+Z"), ("control+q", "Ctrl+Q"),
    ("escape", "Esc"), ("Page Up", "PgUp"), ("f12", "F12"), ("ctrl++", "Ctrl++"), (" + ", "+"), ("é", "É"),
    (" x ", "X"), ("num+1", "Num+1"), ("Meta+Alt+Shift+Ctrl+a", "Meta+Ctrl+Alt+Shift+A"),
])
def test_keys_are_stored_in_qts_own_spelling(tmp_path, written, canonical_form):
    keys = load_keymap(write(tmp_path / "keymap.toml", f'[keys]\nundo = ["{written}"]\n'))
    assert keys["undo"] == (canonical_form,)


def test_a_bare_modifier_is_a_hold_key(tmp_path):
    keys = load_keymap(write(tmp_path / "keymap.toml", '[keys]\npeek = "shift"\nspotlight = ["ctrl"]\n'))
    assert keys["peek"] == ("Shift",) and keys["spotlight"] == ("Ctrl",)


def test_every_key_name_the_validator_accepts_is_one_qt_parses():
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    portable = QKeySequence.SequenceFormat.PortableText
    names = [*NAMED_KEYS, *KEY_ALIASES, "A", "7", "]", ",", "?", "+"]
    for name in names:
        for mods in ("", "Ctrl+", "Meta+Ctrl+Alt+Shift+"):
            text = canonical(mods + name)
            seq = QKeySequence(text, portable)
            assert seq.count() == 1 and seq[0].key() != Qt.Key.Key_unknown, text
            assert seq.toString(portable) == text  # canonical is Qt's own spelling
    for bad in ("Ctrl+Banana+Q", "F36", "Z+Ctrl", "Banana"):
        assert QKeySequence(bad, portable)[0].key() == Qt.Key.Key_unknown  # Qt refuses them too
    assert set(MODIFIERS) >= {"Ctrl", "Alt", "Shift", "Meta"}


# -- settings -------------------------------------------------------------------------------------

BAD_SETTINGS = [
    ("high_severity = 999\n", "high_severity: expected an integer 0..10, got 999"),
    ("high_severity = -5\n", "high_severity: expected an integer 0..10, got -5"),
    ("daily_exposure_budget_s = 1e12\n", "daily_exposure_budget_s: expected an integer 0..86400, got 1000000000000.0"),
    ("daily_exposure_budget_s = 1000000000000\n", "daily_exposure_budget_s: expected an integer 0..86400"),
    ("palate_cleanser_seconds = 1e9\n", "palate_cleanser_seconds: expected a number 0..30, got 1000000000.0"),
    ("reveal_seconds = nan\n", "reveal_seconds: expected a number 0.1..60, got nan"),
    ("reveal_seconds = inf\n", "reveal_seconds: expected a number 0.1..60, got inf"),
    ("palate_cleanser_seconds = -inf\n", "palate_cleanser_seconds: expected a number 0..30, got -inf"),
    ("break_every_active_min = 100000\n", "break_every_active_min: expected an integer 0..600"),
    ("break_after_high_severity = 1001\n", "break_after_high_severity: expected an integer 0..1000"),
    ("spotlight_radius = 1e9\n", "spotlight_radius: expected an integer 20..800"),
    ("break_minutes = 0\n", "break_minutes: expected an integer 1..60, got 0"),
    ("blur = true\n", "blur: expected an integer 0..6, got True"),
    ("grayscale = 1\n", "grayscale: expected true or false, got 1"),
    ("style = \"oil\"\n", "style: expected one of '', 'drawing', got 'oil'"),
    ("[blur]\nlevel = 3\n", "blur: expected an integer 0..6, got {'level': 3}"),
    ("colour = true\n", "unknown settings: colour (known: blur"),
    (b"blur = 3 # \xff\n", "cannot read settings: not UTF-8 text (byte 0xff at offset 11)"),
    ("blur = " + "[" * 5000, "cannot read settings: values nested too deeply"),
]


@pytest.mark.parametrize("text, needle", BAD_SETTINGS)
def test_a_wrong_setting_is_one_line_naming_it(tmp_path, text, needle):
    path = write(tmp_path / "settings.toml", text)
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    one_line_error(err.value, path, needle)


NUMBERS = [(name, low, high) for name, (_label, low, high) in FORM.items() if low is not None]


@pytest.mark.parametrize("name, low, high", NUMBERS)
def test_each_declared_bound_is_the_one_loading_enforces(tmp_path, name, low, high):
    kind = type(getattr(Settings(), name))
    step = 1 if kind is int else 0.01
    for edge in (low, high):
        assert getattr(load_settings(write(tmp_path / "s.toml", f"{name} = {kind(edge)!r}\n")), name) == edge
    for outside in (low - step, high + step):
        with pytest.raises(SettingsError, match=f"{name}: expected"):
            load_settings(write(tmp_path / "s.toml", f"{name} = {kind(outside)!r}\n"))


@pytest.mark.parametrize("name, value, needle", [
    ("high_severity", "999", "high_severity: expected an integer 0..10, got 999"),
    ("high_severity", "-5", "high_severity: expected an integer 0..10, got -5"),
    ("daily_exposure_budget_s", "1e12", "daily_exposure_budget_s: expected an integer 0..86400, got '1e12'"),
    ("palate_cleanser_seconds", "1e9", "palate_cleanser_seconds: expected a number 0..30, got 1000000000.0"),
    ("reveal_seconds", "nan", "reveal_seconds: expected a number 0.1..60, got nan"),
    ("reveal_seconds", "inf", "reveal_seconds: expected a number 0.1..60, got inf"),
    ("blur", "[" * 5000, "blur: expected an integer 0..6"),
    ("grayscale", "maybe", "grayscale: expected true or false, got 'maybe'"),
    ("style", "oil", "style: expected one of '', 'drawing', got 'oil'"),
])
def test_settings_set_refuses_what_the_form_refuses(capsys, name, value, needle):
    assert main(["settings", "--set", name, value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "(nothing changed)" in err
    assert not settings_path().exists()


def test_settings_set_takes_typed_words(capsys):
    assert main(["settings", "--set", "style", '"drawing"', "--set", "grayscale", "False",
                 "--set", "reveal_seconds", "7"]) == 0
    assert load_settings() == Settings(style="drawing", grayscale=False, reveal_seconds=7.0)


# -- the desk ---------------------------------------------------------------------------------------

DESK_CASES = [
    ("keymap.toml", "keys = 5\n", "keys: expected a table"),
    ("keymap.toml", b"[keys]\nundo = [\"\xff\"]\n", "cannot read keymap: not UTF-8"),
    ("keymap.toml", "[keys]\nundo = [\"Ctrl+Banana+Q\"]\n", "keys.undo[0]: expected a key sequence"),
    ("keymap.toml", "[keys]\nskip = [\"1\"]\n", "bound to both label:no_violation and skip"),
    ("settings.toml", b"blur = 3 # \xff\n", "cannot read settings: not UTF-8"),
    ("settings.toml", "palate_cleanser_seconds = 1e9\n", "palate_cleanser_seconds: expected a number 0..30"),
    ("policy.toml", HEAD + "filters = 5\n" + LABEL, "filters: expected a table"),
    ("policy.toml", HEAD + "[filters.category.csam_suspected]\nblur = 0\n" + LABEL, "a floor no policy lowers"),
]


@pytest.mark.parametrize("name, content, needle", DESK_CASES)
def test_the_desk_refuses_a_bad_file_in_one_line(tmp_path, name, content, needle):
    config, data = tmp_path / "config", tmp_path / "data"
    config.mkdir()
    path = write(config / name, content)
    argv = [sys.executable, "-m", "moderator", "desk", "--data-dir", str(data)]
    if name == "policy.toml":
        argv += ["--policy", str(path)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MODERATOR_CONFIG_DIR": str(config)}
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    lines = run.stderr.splitlines()
    assert run.returncode == 2 and len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(f"moderator: error: {path}: ") and needle in lines[0]
    assert not (data / Store.FILENAME).exists()  # the files are read before any store is opened


def test_filter_for_applies_the_floors_even_to_a_policy_built_in_code():
    """The loader refuses a weak policy; filter_for holds the floors for any other way one is made."""
    from moderator.domain import CSAM_FLOOR, DEFAULT_FLOOR, Action, FilterSpec, Label, Policy

    weak = Policy(version="x", labels=(Label("1", "ok", "OK", Action.ALLOW, 0),),
                  default_filter=FilterSpec(blur=0, grayscale=False),
                  category_filters={"csam_suspected": FilterSpec(blur=0, grayscale=False)})
    plain = weak.filter_for(None)
    assert plain.blur >= DEFAULT_FLOOR.blur and plain.grayscale
    csam = weak.filter_for("csam_suspected")
    assert (csam.blur, csam.grayscale, csam.reveal) == (CSAM_FLOOR.blur, True, CSAM_FLOOR.reveal)
    assert weak.filter_for(None, suggested_label="csam_suspected").reveal == CSAM_FLOOR.reveal
