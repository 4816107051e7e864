"""Property tests of the policy, keymap and settings loaders: whatever a file holds, the loader either
returns a value or raises its own one-line error; and what is valid comes back as written.

Deterministic (derandomize, no example database) and bounded, so `make test` stays fast and stable.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderator.domain import CSAM_CATEGORY, CSAM_FLOOR, Action, FilterSpec, Reveal
from moderator.key_names import HOLD_MODIFIERS, MODIFIERS, NAMED_KEYS
from moderator.keymap import COMMANDS, HOLD_COMMANDS, KeymapError, load_keymap
from moderator.policy import DECISION_ACTIONS, PolicyError, load_policy
from moderator.resources import resource_path
from moderator.settings import FORM, STYLES, Settings, SettingsError, load_settings, save_settings

BOUNDED = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LOADERS = [(load_policy, PolicyError), (load_keymap, KeymapError), (load_settings, SettingsError)]
WORDS = ["version", "labels", "filters", "default", "category", "keys", "key", "name", "action", "severity",
         "title", "blur", "grayscale", "pixelate", "style", "reveal", CSAM_CATEGORY, "CSAM-Suspected",
         *COMMANDS, *(f.name for f in fields(Settings))]
SCALARS = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=12),
    st.sampled_from([0, 1, 6, 7, -1, 10, 11, 1e9, "full", "peek", "none", "drawing", "allow", "1", "Ctrl+Z",
                     "Ctrl+Banana+Q", "Alt", ""]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), inner, max_size=4),
), max_leaves=12)


def toml_str(text: str) -> str:
    """A TOML basic string: json's escapes are TOML's, but TOML also wants DEL escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value) -> str:
    """TOML for a value, inline tables and all (json's string escapes are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_str(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_doc(data: dict) -> str:
    return "".join(f"{toml_str(k)} = {toml_value(v)}\n" for k, v in data.items())


def mutated(base: dict) -> st.SearchStrategy[dict]:
    """A valid document with one value somewhere replaced, dropped, or added."""
    @st.composite
    def build(draw, node=base):
        node = dict(node)
        key = draw(st.sampled_from(sorted(node)) | st.sampled_from(WORDS))
        change = draw(st.sampled_from(["replace", "drop", "descend"]))
        if change == "descend" and isinstance(node.get(key), dict) and node[key]:
            node[key] = draw(build(node[key]))
        elif change == "descend" and isinstance(node.get(key), list) and node[key]:
            items = list(node[key])
            i = draw(st.integers(0, len(items) - 1))
            items[i] = draw(build(items[i])) if isinstance(items[i], dict) else draw(VALUES)
            node[key] = items
        elif change == "drop":
            node.pop(key, None)
        else:
            node[key] = draw(VALUES)
        return node
    return build()


def raises_only_its_own(load, error, path: Path) -> None:
    try:
        load(path)
    except error as exc:
        assert "\n" not in str(exc) and str(exc).startswith(f"{path}: ")


@BOUNDED
@given(content=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_the_loaders_error(tmp_path, content):
    for load, error in LOADERS:
        path = tmp_path / "file.toml"
        path.write_bytes(content)
        raises_only_its_own(load, error, path)


@BOUNDED
@given(data=st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), VALUES, max_size=6))
def test_arbitrary_toml_raises_only_the_loaders_error(tmp_path, data):
    path = tmp_path / "file.toml"
    path.write_text(toml_doc(data), encoding="utf-8")
    for load, error in LOADERS:
        raises_only_its_own(load, error, path)


SHIPPED = {name: tomllib.loads(resource_path(f"{name}.toml").read_text(encoding="utf-8"))
           for name in ("policy", "keymap")}


@BOUNDED
@given(policy=mutated(SHIPPED["policy"]), keymap=mutated(SHIPPED["keymap"]),
       user=mutated({f.name: f.default for f in fields(Settings)}))
def test_a_valid_file_with_one_thing_changed_raises_only_the_loaders_error(tmp_path, policy, keymap, user):
    for data, (load, error) in zip((policy, keymap, user), LOADERS, strict=True):
        path = tmp_path / "file.toml"
        path.write_text(toml_doc(data), encoding="utf-8")
        raises_only_its_own(load, error, path)


# -- valid files come back as written --------------------------------------------------------------

def _setting(name: str):
    _label, low, high = FORM[name]
    default = getattr(Settings(), name)
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, str):
        return st.sampled_from(STYLES)
    if isinstance(default, int):
        return st.integers(low, high)
    return st.floats(low, high, allow_nan=False)


NUMERIC = sorted(name for name, (_label, low, _high) in FORM.items() if low is not None)


@st.composite
def outside(draw, name: str):
    """A number the declaration of `name` refuses: below, above, or not finite."""
    _label, low, high = FORM[name]
    return draw(st.one_of(st.floats(max_value=low, exclude_max=True), st.floats(min_value=high, exclude_min=True),
                          st.sampled_from([math.nan, math.inf, -math.inf])))


@BOUNDED
@given(chosen=st.fixed_dictionaries({f.name: _setting(f.name) for f in fields(Settings)}),
       name=st.sampled_from(NUMERIC), data=st.data())
def test_saved_settings_load_back_equal_and_out_of_bounds_never_loads(tmp_path, chosen, name, data):
    path = tmp_path / "settings.toml"
    save_settings(Settings(**chosen), path)
    assert load_settings(path) == Settings(**chosen)
    bad = data.draw(outside(name))
    if isinstance(getattr(Settings(), name), int) and math.isfinite(bad) and data.draw(st.booleans()):
        bad = math.floor(bad) if bad < FORM[name][1] else math.ceil(bad)  # the integer spelling too
    path.write_text(toml_doc({**chosen, name: bad}), encoding="utf-8")
    with pytest.raises(SettingsError, match=f"{name}: expected"):
        load_settings(path)


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda n: n != CSAM_CATEGORY)
FILTERS = st.fixed_dictionaries({}, optional={
    "blur": st.integers(1, 6), "grayscale": st.just(True), "pixelate": st.integers(0, 6),
    "style": st.sampled_from(["", "drawing"]), "reveal": st.sampled_from([r.value for r in Reveal]),
})
CSAM_FILTERS = st.fixed_dictionaries({}, optional={
    "blur": st.just(6), "grayscale": st.just(True), "pixelate": st.integers(0, 6), "reveal": st.just("none"),
})


@st.composite
def policies(draw):
    digits = draw(st.lists(st.sampled_from("123456789"), min_size=1, max_size=9, unique=True))
    names = draw(st.lists(NAMES, min_size=len(digits), max_size=len(digits), unique=True))
    labels = [{"key": k, "name": n, "title": draw(st.text(max_size=10)),
               "action": draw(st.sampled_from([a.value for a in DECISION_ACTIONS])),
               "severity": draw(st.integers(0, 10))} for k, n in zip(digits, names, strict=True)]
    categories = draw(st.dictionaries(NAMES, FILTERS, max_size=3))
    if draw(st.booleans()):
        categories[CSAM_CATEGORY] = draw(CSAM_FILTERS)
    return {"version": draw(st.text(min_size=1, max_size=8).filter(str.strip)), "labels": labels,
            "filters": {"default": draw(FILTERS), "category": categories}}


def _spec(raw: dict, base: FilterSpec) -> FilterSpec:
    given_ = {k: v for k, v in raw.items()}
    if "style" in given_:
        given_["style"] = given_["style"] or None
    if "reveal" in given_:
        given_["reveal"] = Reveal(given_["reveal"])
    return replace(base, **given_)


@BOUNDED
@given(data=policies())
def test_a_valid_policy_loads_as_written(tmp_path, data):
    path = tmp_path / "policy.toml"
    path.write_text(toml_doc(data), encoding="utf-8")
    policy = load_policy(path)
    default = _spec(data["filters"]["default"], FilterSpec())
    assert policy.version == data["version"] and policy.default_filter == default
    assert [(lb.key, lb.name, lb.title, lb.action, lb.severity) for lb in policy.labels] == [
        (r["key"], r["name"], r["title"], Action(r["action"]), r["severity"]) for r in data["labels"]]
    expected = {n: _spec(raw, default) for n, raw in data["filters"]["category"].items() if n != CSAM_CATEGORY}
    csam_raw = data["filters"]["category"].get(CSAM_CATEGORY, {})
    expected[CSAM_CATEGORY] = _spec(csam_raw, default.stricter(CSAM_FLOOR))
    assert policy.category_filters == expected


KEYS = st.sampled_from([*NAMED_KEYS, *"ABCXYZ0189[],.;/?"])
CASES = st.sampled_from([str.lower, str.upper, str])


@st.composite
def keymaps(draw):
    """Every command rebound, no two alike: hold keys are bare modifiers, the others carry one."""
    holds = draw(st.lists(st.sampled_from(HOLD_MODIFIERS), min_size=2, max_size=2, unique=True))
    chords = draw(st.lists(st.tuples(st.sets(st.sampled_from(MODIFIERS), min_size=1), KEYS),
                           min_size=len(COMMANDS), max_size=len(COMMANDS),
                           unique_by=lambda c: (frozenset(c[0]), c[1].upper())))
    written, expected = {}, {}
    others = iter(chords)
    for command in COMMANDS:
        if command in HOLD_COMMANDS:
            mod = holds[HOLD_COMMANDS.index(command)]
            written[command], expected[command] = draw(CASES)(mod), (mod,)
            continue
        mods, key = next(others)
        order = draw(st.permutations(sorted(mods)))
        written[command] = "+".join([*(draw(CASES)(m) for m in order), draw(CASES)(key)])
        canonical_key = key.upper() if len(key) == 1 else key
        expected[command] = ("+".join([*sorted(mods, key=MODIFIERS.index), canonical_key]),)
    return written, expected


@settings(BOUNDED, max_examples=50)  # each example rebinds all 21 commands
@given(pair=keymaps())
def test_a_valid_keymap_loads_in_qts_spelling(tmp_path, policy, pair):
    written, expected = pair
    path = tmp_path / "keymap.toml"
    path.write_text("[keys]\n" + "".join(f"{c} = {toml_str(k)}\n" for c, k in written.items()), encoding="utf-8")
    assert load_keymap(path, policy) == expected
