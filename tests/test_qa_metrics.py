"""Agreement, Cohen's kappa and the confusion matrix: against values worked out by hand, against
scikit-learn's cohen_kappa_score, and through a real store (QA rows written by the review service)."""

from __future__ import annotations

import math
import random
import warnings
from datetime import date

import pytest
from sklearn.metrics import cohen_kappa_score

from moderator import qa_metrics
from moderator.qa_metrics import QaPair
from moderator.report import build_report
from moderator.review import ReviewService
from tests.report_fixtures import History


def sklearn_kappa(left: list[str], right: list[str]) -> float:
    with warnings.catch_warnings():  # it warns (and returns nan) where kappa is undefined
        warnings.simplefilter("ignore")
        return cohen_kappa_score(left, right)


def pairs_of(*spec: tuple[str, str, int], moderator: str = "amy") -> list[QaPair]:
    """(moderator's class, analyst's class, how many) -> pairs."""
    out = []
    for original, qa, count in spec:
        out += [QaPair(f"{moderator}-{original}-{qa}-{n}", moderator, "local", original, qa, "quinn")
                for n in range(count)]
    return out


def test_two_by_two_kappa_by_hand():
    # 50 pairs: both remove 20, moderator remove / QA allow 5, allow / remove 10, both allow 15.
    # p_o = 35/50 = 0.7; moderator: remove 25/50, QA: remove 30/50; p_e = .5*.6 + .5*.4 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    pairs = pairs_of(("spam", "spam", 20), ("spam", "no_violation", 5), ("no_violation", "spam", 10),
                     ("no_violation", "no_violation", 15))
    assert qa_metrics.agreement(pairs) == pytest.approx(0.7)
    assert qa_metrics.cohen_kappa(pairs) == pytest.approx(0.4)
    assert qa_metrics.confusion(pairs) == {"labels": ["no_violation", "spam"], "counts": [[15, 10], [5, 20]]}
    assert qa_metrics.summary(pairs) == {"n": 50, "agreement": pytest.approx(0.7), "kappa": pytest.approx(0.4)}


def test_perfect_agreement_is_one_and_one_class_is_undefined():
    perfect = pairs_of(("spam", "spam", 3), ("nudity", "nudity", 2))
    assert qa_metrics.agreement(perfect) == 1.0 and qa_metrics.cohen_kappa(perfect) == 1.0
    one_class = pairs_of(("spam", "spam", 4))
    # p_e = 1: kappa is 0/0. Agreement is still defined.
    assert qa_metrics.agreement(one_class) == 1.0 and qa_metrics.cohen_kappa(one_class) is None
    assert math.isnan(sklearn_kappa(["spam"] * 4, ["spam"] * 4))


def test_no_pairs_is_null_everywhere():
    assert qa_metrics.summary([]) == {"n": 0, "agreement": None, "kappa": None}
    assert qa_metrics.confusion([]) == {"labels": [], "counts": []}
    assert qa_metrics.coverage(0, 0) == {"decisions": 0, "reviewed": 0, "fraction": None}


def test_total_disagreement_is_minus_one():
    pairs = pairs_of(("spam", "no_violation", 5), ("no_violation", "spam", 5))
    assert qa_metrics.agreement(pairs) == 0.0 and qa_metrics.cohen_kappa(pairs) == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", range(40))
def test_kappa_matches_scikit_learn(seed):
    rng = random.Random(seed)
    classes = ["no_violation", "spam", "nudity", "escalate", "sexual+spam"][: rng.randint(2, 5)]
    n = rng.randint(1, 300)
    left = [rng.choice(classes) for _ in range(n)]
    # Raters that agree often but not always, so kappa spans its range across seeds.
    right = [a if rng.random() < rng.random() else rng.choice(classes) for a in left]
    pairs = [QaPair(str(i), "amy", "local", a, b, "quinn") for i, (a, b) in enumerate(zip(left, right, strict=True))]
    expected = sklearn_kappa(left, right)
    ours = qa_metrics.cohen_kappa(pairs)
    if math.isnan(expected):
        assert ours is None
    else:
        assert ours == pytest.approx(expected, abs=1e-12)
    assert qa_metrics.agreement(pairs) == pytest.approx(sum(a == b for a, b in zip(left, right, strict=True)) / n)


def test_decision_class():
    assert qa_metrics.decision_class(("spam",), "remove") == "spam"
    assert qa_metrics.decision_class(("spam", "nudity"), "remove") == "nudity+spam"
    assert qa_metrics.decision_class((), "escalate") == "escalate"


def test_by_label_lists_labels_without_pairs_and_labels_qa_never_gave():
    pairs = pairs_of(("spam", "spam", 2), ("nudity", "spam", 1))
    out = qa_metrics.by_label(pairs, {"spam", "nudity", "hate_symbol"})
    assert out["spam"] == {"n": 2, "agreement": 1.0, "qa_n": 3}
    assert out["nudity"] == {"n": 1, "agreement": 0.0, "qa_n": 0}  # QA never gave nudity
    assert out["hate_symbol"] == {"n": 0, "agreement": None, "qa_n": 0}  # never re-reviewed


# -- through a real store ---------------------------------------------------------------------------
def test_report_qa_from_stored_rows(store, policy):
    """QA rows written by ReviewService.qa_review (the analyst's blind judgement, then a resolution of a
    disagreement) and a constructed history: the report's qa section, every number by hand."""
    h = History(store, policy)
    day = "2024-05-01T10:00:00.000Z"
    # amy: 4 decisions, 3 re-reviewed. spam->spam, spam->no_violation, no_violation->no_violation.
    a1 = h.decided("amy", "spam", day)
    a2 = h.decided("amy", "spam", day)
    a3 = h.decided("amy", "no_violation", day)
    h.decided("amy", "hate_symbol", day)  # hate_symbol: given, never re-reviewed
    # bo: 2 decisions, both re-reviewed and confirmed, one class only -> kappa undefined.
    b1 = h.decided("bo", "nudity", day)
    b2 = h.decided("bo", "nudity", day)
    # cy: decides, nobody re-reviews.
    h.decided("cy", "spam", day)
    quinn = ReviewService(store, policy, "quinn")
    quinn.qa_review(a1.uuid, "spam")
    quinn.qa_review(a2.uuid, "no_violation")
    quinn.qa_review(a2.uuid, "no_violation", resolve=True, note="not spam")  # not a second judgement
    quinn.qa_review(a3.uuid, "no_violation")
    quinn.qa_review(b1.uuid, "nudity")
    quinn.qa_review(b2.uuid, "nudity")
    rae = ReviewService(store, policy, "rae")
    rae.qa_review(b1.uuid, "spam")
    rae.undo_last()  # an undone judgement does not count
    report = build_report(store.db, date(2024, 5, 1), date(2024, 5, 1))
    qa = report["qa"]
    # 5 pairs: amy (spam,spam) (spam,nv) (nv,nv); bo (nudity,nudity) x2. 4 agree.
    # moderator: spam 2, nv 1, nudity 2; QA: spam 1, nv 2, nudity 2.
    # p_e = (2*1 + 1*2 + 2*2) / 25 = 8/25; kappa = (4/5 - 8/25) / (1 - 8/25) = (12/25) / (17/25) = 12/17.
    assert qa["overall"] == {"n": 5, "agreement": pytest.approx(0.8), "kappa": pytest.approx(12 / 17)}
    # amy: p_o 2/3; moderator spam 2 nv 1, QA spam 1 nv 2: p_e = (2*1 + 1*2)/9 = 4/9;
    # kappa = (2/3 - 4/9) / (5/9) = 2/5.
    assert qa["by_moderator"]["amy"] == {"n": 3, "agreement": pytest.approx(2 / 3), "kappa": pytest.approx(0.4),
                                         "decided": 4, "reviewed": 3, "coverage": 0.75}
    assert qa["by_moderator"]["bo"] == {"n": 2, "agreement": 1.0, "kappa": None, "decided": 2, "reviewed": 2,
                                        "coverage": 1.0}
    assert qa["by_moderator"]["cy"] == {"n": 0, "agreement": None, "kappa": None, "decided": 1, "reviewed": 0,
                                        "coverage": 0.0}
    assert "quinn" not in qa["by_moderator"] and "rae" not in qa["by_moderator"]
    assert qa["by_label"] == {
        "hate_symbol": {"n": 0, "agreement": None, "qa_n": 0},
        "no_violation": {"n": 1, "agreement": 1.0, "qa_n": 2},
        "nudity": {"n": 2, "agreement": 1.0, "qa_n": 2},
        "spam": {"n": 2, "agreement": 0.5, "qa_n": 1},
    }
    assert qa["by_team"] == {"local": {"n": 5, "agreement": pytest.approx(0.8), "kappa": pytest.approx(12 / 17)}}
    assert qa["confusion"] == {"labels": ["no_violation", "nudity", "spam"],
                               "counts": [[1, 0, 0], [0, 2, 0], [1, 0, 1]]}
    assert qa["coverage"] == {"decisions": 7, "reviewed": 5, "fraction": pytest.approx(5 / 7)}


def test_qa_counts_by_the_reviewed_decisions_day(store, policy):
    """A QA pair belongs to the range of the decision it re-reviewed, whenever the analyst judged it."""
    h = History(store, policy)
    early = h.decided("amy", "spam", "2024-04-30T23:59:59.999Z")
    inside = h.decided("amy", "spam", "2024-05-01T00:00:00.000Z")
    h.qa(early, "spam", "quinn", "2024-05-01T12:00:00.000Z")
    h.qa(inside, "no_violation", "quinn", "2024-05-09T12:00:00.000Z")
    qa = build_report(store.db, date(2024, 5, 1), date(2024, 5, 1))["qa"]
    assert qa["overall"] == {"n": 1, "agreement": 0.0, "kappa": 0.0}  # p_e = 0: no class shared
    assert qa["confusion"] == {"labels": ["no_violation", "spam"], "counts": [[0, 0], [1, 0]]}
    assert build_report(store.db)["qa"]["overall"]["n"] == 2


def test_golden_accuracy_in_the_report(store, policy):
    """Golden items (storage.qa.add_golden, as `moderator qa golden import` marks them) decided by two
    moderators: amy 2 of 3 right (one mistake), bo 1 of 1; an undone decision is not scored."""
    from storage import qa as qa_repo

    h = History(store, policy)
    golden = [h.item() for _ in range(3)]
    for item in golden:
        store.write(lambda db, item=item: qa_repo.add_golden(db, "lead", item, ["spam"], "test"))
    at = "2024-05-01T09:00:00.000Z"
    h.decide(golden[0], "spam", "amy", at)
    h.decide(golden[1], "spam", "amy", at)
    h.decide(golden[2], "no_violation", "amy", at)
    h.decide(golden[0], "spam", "bo", at)
    h.undo(h.decide(golden[1], "no_violation", "bo", at), at)
    assert build_report(store.db)["qa"]["golden"] == {
        "overall": {"n": 4, "correct": 3, "accuracy": 0.75},
        "by_moderator": {"amy": {"n": 3, "correct": 2, "accuracy": pytest.approx(2 / 3)},
                         "bo": {"n": 1, "correct": 1, "accuracy": 1.0}},
    }
