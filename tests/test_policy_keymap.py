"""The policy and the keymap are data: the shipped files load, and bad ones fail with one clear line."""

import pytest

from moderator.domain import Action, FilterSpec, Reveal
from moderator.keymap import KeymapError, bindings, load_keymap
from moderator.policy import PolicyError, load_policy

GOOD_LABELS = """
[[labels]]
key = "1"
name = "ok"
action = "allow"
severity = 0
"""


def test_shipped_policy_orders_labels_by_key(policy):
    assert [lb.key for lb in policy.labels] == [str(d) for d in range(1, 10)]
    assert policy.label("no_violation").action is Action.ALLOW
    assert policy.label("csam_suspected").action is Action.ESCALATE


@pytest.mark.parametrize("category, blur, reveal", [
    (None, 3, Reveal.FULL), ("unknown", 3, Reveal.FULL), ("gore", 4, Reveal.FULL),
    ("csam_suspected", 6, Reveal.NONE),
])
def test_category_filters_only_ever_add_protection(policy, category, blur, reveal):
    spec = policy.filter_for(category)
    assert (spec.blur, spec.grayscale, spec.reveal) == (blur, True, reveal)


def test_a_suggested_label_adds_its_rule(policy):
    spec = policy.filter_for(None, "csam_suspected")
    assert (spec.blur, spec.reveal) == (6, Reveal.NONE)
    assert policy.filter_for("gore", "spam") == policy.filter_for("gore")


def test_stricter_combines_both():
    a = FilterSpec(blur=2, grayscale=False, reveal=Reveal.PEEK)
    b = FilterSpec(blur=5, grayscale=True, pixelate=2)
    assert a.stricter(b) == FilterSpec(blur=5, grayscale=True, pixelate=2, reveal=Reveal.PEEK)


@pytest.mark.parametrize("text, needle", [
    ('version = "1"\n', "labels: expected a non-empty array of [[labels]] tables, got nothing"),
    ("labels = [\n", "cannot read policy"),
    ('version = "1"\n' + GOOD_LABELS + GOOD_LABELS, "labels: expected each label key once, got duplicate label key: 1"),
    ('version = "1"\n' + GOOD_LABELS.replace('"allow"', '"delete"'), "labels[0].action: expected one of 'allow', 'remove'"),
    ('version = "1"\n' + GOOD_LABELS.replace('"1"', '"0"'), "labels[0].key: expected a digit 1..9, got '0'"),
    ('version = "1"\n[filters.default]\nblur = 9\n' + GOOD_LABELS, "filters.default.blur: expected an integer 0..6, got 9"),
    ('version = "1"\n[filters.default]\nstyle = "oil"\n' + GOOD_LABELS, "filters.default.style: expected one of '', 'drawing', got 'oil'"),
])
def test_bad_policy_names_the_problem(tmp_path, text, needle):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert needle in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_user_keymap_overrides_one_command(tmp_path, policy):
    user = tmp_path / "keymap.toml"
    user.write_text('[keys]\nskip = ["X"]\n')
    keys = load_keymap(user)
    assert keys["skip"] == ("X",) and keys["next"] == ("J", "Down")
    assert any(b.command == "skip" and b.keys == ("X",) for b in bindings(keys, policy))


@pytest.mark.parametrize("text, needle", [
    ('[keys]\nfly = ["F"]\n', "keys.fly: expected a known key .*got an unknown key"),
    ('[keys]\nskip = ["1"]\n', "bound to both"),
    ("[keys\n", "cannot read keymap"),
])
def test_bad_user_keymap(tmp_path, policy, text, needle):
    user = tmp_path / "keymap.toml"
    user.write_text(text)
    with pytest.raises(KeymapError, match=needle):
        bindings(load_keymap(user), policy)
