"""The dashboard (Ctrl+D): the report's charts (moderator.report_charts, the same PNGs the HTML report
draws as SVG), computed from the store on a background worker, never on the GUI thread.

A non-modal window of its own: opening it takes focus from the desk, which ends any reveal.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTime
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from moderator.report import build_report
from moderator.report_charts import SIZE, charts
from ui.shortcuts import KeyCommand
from ui.tasks import TaskRunner


@dataclass(frozen=True)
class Drawn:
    """One refresh: the headline numbers and each chart as a QImage decoded on the worker."""

    headline: str
    images: tuple[tuple[str, QImage], ...]  # (chart title, picture)


def draw_dashboard(store, dpi: int = 100, ratio: float = 1.0) -> Drawn:
    """Run on a worker: the whole-history report, its charts as PNG at `dpi` (times the screen's pixel
    ratio, so they are sharp), decoded to QImages."""
    report = build_report(store.db)
    images = []
    for c in charts(report, png=True, svg=False, dpi=round(dpi * ratio)).values():
        image = QImage()
        if not image.loadFromData(c.png, "PNG"):
            raise ValueError(f"chart {c.name} is not a PNG")
        image.setDevicePixelRatio(ratio)
        images.append((c.title, image))
    return Drawn(headline(report), tuple(images))


def headline(report: dict) -> str:
    """The numbers a lead reads first, from the report's stable shape (docs/REPORT.md)."""
    k, qa = report["kpis"]["overall"], report["qa"]["overall"]
    parts = [f"{k.get('decided', 0)} decisions"]
    if k.get("median_handle_ms") is not None:
        parts.append(f"median handle {k['median_handle_ms'] / 1000:.1f} s")
    if k.get("sla_adherence") is not None:
        parts.append(f"SLA met {k['sla_adherence']:.0%}")
    if qa.get("n"):
        kappa = f", κ {qa['kappa']:.2f}" if qa.get("kappa") is not None else ""
        parts.append(f"QA {qa['n']} re-reviewed: agreement {qa['agreement']:.0%}{kappa}")
    else:
        parts.append("no QA re-reviews yet")
    return " · ".join(parts)


_MARGIN, _GAP, _NARROWEST = 60, 12, 600  # px: around the grid (and a scroll bar), between charts, readable


def _columns(width: int) -> int:
    """Two columns when each chart still gets _NARROWEST px, else one."""
    return 2 if _column_width(width, 2) >= _NARROWEST else 1


def _column_width(width: int, columns: int) -> float:
    return (width - _MARGIN - _GAP * (columns - 1)) / columns


class DashboardPanel(QDialog):
    def __init__(self, store, runner: TaskRunner, parent: QWidget | None = None, refresh_keys: tuple[str, ...] = ()):
        """refresh_keys: the keymap's dashboard_refresh, live in this window (its own shortcut)."""
        super().__init__(parent)
        self.setWindowTitle("Moderator Desk — dashboard")
        self.setObjectName("dashboard")
        self._store, self._runner = store, runner
        self.running = False
        self._again = False
        self.drawn: Drawn | None = None
        self.refreshes = 0  # refreshes delivered (tests wait on it)
        self.headline = QLabel("Computing the report…")
        self.headline.setObjectName("panelTitle")
        self.headline.setWordWrap(True)
        self.state = QLabel("")
        self.refresh_button = QPushButton(f"Refresh ({refresh_keys[0]})" if refresh_keys else "Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.refresh_key = KeyCommand(self, refresh_keys, self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(self.state)
        top.addWidget(self.refresh_button)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self._grid.setSpacing(_GAP)
        self._grid.setContentsMargins(_GAP, _GAP, _GAP, _GAP)
        self.chart_labels: list[QLabel] = []
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self._grid_host)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        self.resize(1700, 950)

    def open_panel(self) -> None:
        self.show()
        self.activateWindow()
        self.refresh()

    def refresh(self) -> None:
        """Compute the report again on the background worker; a press while one runs asks for one more."""
        if self.running:
            self._again = True
            return
        self.running = True
        self.state.setText("computing…")
        store, dpi, ratio = self._store, self._chart_dpi(), self.devicePixelRatioF()
        self._runner.run(lambda: draw_dashboard(store, dpi, ratio), self._on_drawn, self._on_failed, background=True)

    def _chart_dpi(self) -> int:
        """Charts as wide as their column (at most 100 dpi: 800 px), so painting one is a copy."""
        columns = _columns(self.scroll.viewport().width())
        return int(max(60, min(100, _column_width(self.scroll.viewport().width(), columns) / SIZE[0])))

    def _on_drawn(self, drawn: Drawn) -> None:
        self._finish()
        self.drawn = drawn
        self.headline.setText(drawn.headline)
        self.state.setText(f"as of {QTime.currentTime().toString('HH:mm:ss')}")
        while len(self.chart_labels) < len(drawn.images):
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.chart_labels.append(label)
        for label, (title, image) in zip(self.chart_labels, drawn.images, strict=False):
            label.setPixmap(QPixmap.fromImage(image))  # the GUI thread makes the pixmap, never a worker
            label.setMinimumSize(image.deviceIndependentSize().toSize())  # whole charts: the area scrolls instead
            label.setToolTip(title)
        self._lay_out()
        self.refreshes += 1

    def _on_failed(self, exc: Exception) -> None:
        self._finish()
        self.state.setText(f"not computed: {exc}")

    def _finish(self) -> None:
        self.running = False
        if self._again:
            self._again = False
            self.refresh()

    def _lay_out(self) -> None:
        """As many charts side by side as the window is wide for."""
        shown = self.chart_labels[: len(self.drawn.images)] if self.drawn else []
        widest = max((lb.minimumWidth() for lb in shown), default=800)
        columns = max(1, min(_columns(self.scroll.viewport().width()),
                             int((self.scroll.viewport().width() - _MARGIN + _GAP) // (widest + _GAP))))
        for label in self.chart_labels:
            self._grid.removeWidget(label)
        for n, label in enumerate(shown):
            self._grid.addWidget(label, n // columns, n % columns)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.drawn is not None:
            self._lay_out()
