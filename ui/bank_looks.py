"""How a bank match looks wherever the desk shows one: a block-list match and an allow-list match differ
in words ("known violating" / "known benign") and colour, so neither is read as the other at a glance,
and the bank's full name is always there (in the text, and on hover with its description)."""

from __future__ import annotations

from html import escape

from moderator.report_context import BankMatch

# Neither is the severity red of the labels panel, nor the suggested key's accent (resources/theme.qss).
KIND_LOOKS = {
    "block": ("known violating", "#f0a35e"),
    "allow": ("known benign", "#6fcf8e"),
}


def kind_words(kind: str) -> str:
    return KIND_LOOKS.get(kind, (kind, ""))[0]


def kind_colour(kind: str) -> str:
    return KIND_LOOKS.get(kind, ("", "#d7dbe0"))[1]


def match_html(m: BankMatch) -> str:
    """One match as rich text: "■ known violating · bank-name · label · distance 4"."""
    words, colour = KIND_LOOKS.get(m.kind, (m.kind, "#d7dbe0"))
    label = f" · {escape(m.label)}" if m.label else ""
    return (f"<span style='color:{colour}'>■ <b>{words}</b></span> · {escape(m.bank)}{label}"
            f" · distance {m.distance}")


def match_tooltip(m: BankMatch) -> str:
    words = kind_words(m.kind)
    about = f"\n{m.description}" if m.description else ""
    return f"{m.bank} ({m.kind} list: {words}){about}\nlabel {m.label or '—'}, distance {m.distance}"

