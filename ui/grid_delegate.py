"""How one grid tile is painted: the filtered thumbnail (or a placeholder), and under it the badges.

A tile is the thumbnail's square on top and two caption lines below it: the label a bank match
suggests, the match and family badges, then the category hint and the SLA state. Nothing is drawn
over the picture, so what a tile shows of the media is exactly the thumbnail. Painting only reads:
the Item from the model, the picture from the requester's memory cache (`picture_for`), the texts
from the small helpers below; no file, no decode, no store. A decided tile (shown by a status filter
that asks for them) is painted at DIMMED opacity, with the label it was given as its only badge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from moderator.domain import Item
from moderator.grid_view import sla_state
from ui.grid_model import DecidedRole, MembersRole
from ui.queue_model import ItemRole, due_text

PAD = 6
LINE = 18  # one caption line
TILE_BG = QColor("#1d2024")
PICTURE_BG = QColor("#121417")
SELECTED = QColor("#4c8dff")
FOCUS = QColor("#c8ccd2")
TEXT = QColor("#c8ccd2")
DIM = QColor("#8a9099")
PEEKING = QColor("#c0392b")
SLA_COLOURS = {"overdue": QColor("#e74c3c"), "due soon": QColor("#f39c12"), "on time": QColor("#7f8c8d"),
               "no SLA": DIM}
MATCH = QColor("#ff6b6b")
LABEL = QColor("#f5c542")
FAMILY = QColor("#7fb3ff")
DECIDED = QColor("#5fd38d")
DIMMED = 0.3  # a decided tile (shown by a status filter): its picture and caption at this opacity


def tile_size(picture: int) -> QSize:
    return QSize(picture + 2 * PAD, picture + PAD * 2 + 2 * LINE)


def picture_rect(tile: QRect, picture: int) -> QRect:
    """Where a tile's square for the thumbnail lies (the picture is fitted and centred inside it)."""
    return QRect(tile.x() + PAD, tile.y() + PAD, picture, picture)


def fitted(image: QImage, box: QRect) -> QRect:
    scale = min(box.width() / max(1, image.width()), box.height() / max(1, image.height()))
    w, h = round(image.width() * scale), round(image.height() * scale)
    return QRect(box.x() + (box.width() - w) // 2, box.y() + (box.height() - h) // 2, w, h)


# -- the texts: small pure helpers ------------------------------------------------------------------
def label_badge(item: Item, key_of: dict[str, str]) -> str:
    """The label a bank match suggests, with the key that applies it ("2 spam?")."""
    if not item.suggested_label:
        return ""
    key = key_of.get(item.suggested_label)
    return f"{key} {item.suggested_label}?" if key else f"{item.suggested_label}?"


def match_badge(item: Item) -> str:
    if not item.match_badges:
        return ""
    more = f" +{len(item.match_badges) - 1}" if len(item.match_badges) > 1 else ""
    return f"● {item.match_badges[0].split(':')[0]}{more}"


def decided_badge(label: str | None) -> str:
    """How a decided tile says what it was labelled here ("✓ spam")."""
    return f"✓ {label}" if label else ""


def family_badge(members: int) -> str:
    return f"family ×{members}" if members > 1 else ""


def category_hint(item: Item) -> str:
    return (item.category or "no category").replace("_", " ")


def sla_hint(item: Item) -> tuple[str, str]:
    """(state, the words shown): "overdue", "due soon", "on time" or "no SLA"."""
    state = sla_state(item.sla_due_at)
    return state, ("no SLA" if state == "no SLA" else due_text(item.sla_due_at))


@dataclass
class TileSources:
    """What the delegate reads while painting: each a memory look-up."""

    picture_for: Callable[[Item], QImage | None]  # the filtered thumbnail, or None until it is made
    peek_for: Callable[[Item], QImage | None]  # the unfiltered picture while a peek of this item is held
    failure_for: Callable[[Item], str | None]
    key_of: dict[str, str]  # label name -> its key


class GridDelegate(QStyledItemDelegate):
    def __init__(self, sources: TileSources, parent=None):
        super().__init__(parent)
        self.sources = sources
        self.picture = 160
        self._small = QFont()
        self._small.setPointSize(9)
        self._bold = QFont(self._small)
        self._bold.setBold(True)
        self._small_metrics, self._bold_metrics = QFontMetrics(self._small), QFontMetrics(self._bold)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return tile_size(self.picture)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        item: Item | None = index.data(ItemRole)
        if item is None:
            return
        tile = option.rect.adjusted(1, 1, -1, -1)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.save()
        p.fillRect(tile, TILE_BG)
        peek = self.sources.peek_for(item)
        decided = index.data(DecidedRole)
        if decided:  # labelled already: still in its place, but out of the way of what is open
            p.setOpacity(DIMMED)
        self._paint_picture(p, item, picture_rect(tile, self.picture), peek)
        self._paint_caption(p, item, tile, len(index.data(MembersRole) or ()), decided)
        p.setOpacity(1.0)
        if peek is not None:
            _frame(p, tile, PEEKING, 3)
        elif selected:
            _frame(p, tile, SELECTED, 3)
        if option.state & QStyle.StateFlag.State_HasFocus:
            p.setPen(QPen(FOCUS, 1, Qt.PenStyle.DashLine))
            p.drawRect(tile.adjusted(4, 4, -5, -5))
        p.restore()

    def _paint_picture(self, p: QPainter, item: Item, box: QRect, peek: QImage | None) -> None:
        p.fillRect(box, PICTURE_BG)
        image = peek if peek is not None else self.sources.picture_for(item)
        if image is None:
            failure = self.sources.failure_for(item)
            p.setFont(self._small)
            p.setPen(DIM)
            text = f"cannot show: {failure}" if failure else ("video…" if item.kind.value == "video" else "…")
            p.drawText(box.adjusted(6, 6, -6, -6), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(fitted(image, box), image)

    def _paint_caption(self, p: QPainter, item: Item, tile: QRect, members: int, decided: str | None) -> None:
        top = tile.y() + PAD + self.picture + PAD // 2
        first = QRect(tile.x() + PAD, top, tile.width() - 2 * PAD, LINE)
        second = first.translated(0, LINE)
        state, sla_text = sla_hint(item)
        p.setFont(self._small)
        sla_width = self._small_metrics.horizontalAdvance(sla_text) + 6
        p.setPen(SLA_COLOURS[state])
        p.drawText(first, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, sla_text)
        p.setPen(DIM)
        category = self._small_metrics.elidedText(category_hint(item), Qt.TextElideMode.ElideRight,
                                                  first.width() - sla_width)
        p.drawText(first, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, category)
        if decided:  # the label it was given, at full strength: what a dimmed tile is for
            p.setOpacity(1.0)
            self._chip(p, second, second.x(), decided_badge(decided), DECIDED)
            return
        x = self._chip(p, second, second.x(), family_badge(members), FAMILY)
        x = self._chip(p, second, x, label_badge(item, self.sources.key_of), LABEL)
        self._chip(p, second, x, match_badge(item), MATCH)

    def _chip(self, p: QPainter, line: QRect, x: int, text: str, colour: QColor) -> int:
        """A badge's words at x on the line, if there is room; the x after it."""
        if not text:
            return x
        text = self._bold_metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(0, line.right() - x))
        if not text:
            return x
        p.setFont(self._bold)
        p.setPen(colour)
        p.drawText(QRect(x, line.y(), line.right() - x, line.height()), Qt.AlignmentFlag.AlignVCenter, text)
        return x + self._bold_metrics.horizontalAdvance(text) + 8


def _frame(p: QPainter, rect: QRect, colour: QColor, width: int) -> None:
    p.setPen(QPen(colour, width))
    p.setBrush(Qt.BrushStyle.NoBrush)
    half = width // 2
    p.drawRect(rect.adjusted(half, half, -half - 1, -half - 1))
