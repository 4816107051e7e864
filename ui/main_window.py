"""The main window: assembles the panels and wires keys to the reviewer. No logic of its own."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from moderator.keymap import bindings as make_bindings
from moderator.review import ReviewService
from ui.escalate_bar import EscalateBar
from ui.help_dialog import HelpDialog
from ui.queue_panel import QueuePanel
from ui.reviewer import Reviewer
from ui.shortcuts import HoldKey, make_shortcuts
from ui.side_panels import FactsPanel, LabelsPanel
from ui.tasks import TaskRunner
from ui.viewer import MediaViewer


class MainWindow(QMainWindow):
    def __init__(self, service: ReviewService, keymap: dict[str, tuple[str, ...]], title: str = ""):
        super().__init__()
        self.setWindowTitle(f"Moderator Desk — {title}" if title else "Moderator Desk")
        self.runner = TaskRunner(self)
        self.viewer = MediaViewer()
        self.reviewer = Reviewer(service, self.runner, self.viewer, self)
        self.queue_panel = QueuePanel()
        self.facts = FactsPanel()
        self.labels = LabelsPanel(service.policy)
        self.escalate_bar = EscalateBar()
        self.bindings = make_bindings(keymap, service.policy)
        self.help = HelpDialog(self.bindings, self)
        self._build_layout()
        self._wire(keymap)
        self.resize(1500, 900)

    def _build_layout(self) -> None:
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.viewer, 1)
        column.addWidget(self.escalate_bar)
        side = QWidget()
        side_column = QVBoxLayout(side)
        side_column.addWidget(self.facts)
        side_column.addWidget(self.labels, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((self.queue_panel, 0), (centre, 1), (side, 0)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([330, 870, 300])
        self.setCentralWidget(splitter)
        self.status_label = QLabel("")
        self.statusBar().addPermanentWidget(self.status_label)

    def _wire(self, keymap: dict[str, tuple[str, ...]]) -> None:
        r = self.reviewer
        handlers = {f"label:{lb.name}": (lambda n=lb.name: r.decide(n)) for lb in r.service.policy.labels}
        handlers.update({
            "next": lambda: r.move(1), "previous": lambda: r.move(-1), "skip": r.skip,
            "escalate": self._on_escalate_key, "undo": r.undo, "help": self.help.show,
            "focus_queue": self.queue_panel.view.setFocus,
        })
        self.shortcuts = make_shortcuts(self, self.bindings, handlers)
        self.peek_key = HoldKey(self, keymap["peek"], self._on_peek_press, self.viewer.end_peek)
        r.queue_changed.connect(self.queue_panel.show_items)
        r.current_changed.connect(self._on_reviewer_current)
        r.saved.connect(lambda _uuid, text: self.statusBar().showMessage(text, 4000))
        r.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.runner.failed.connect(lambda text: self.statusBar().showMessage(f"Error: {text}", 8000))
        self.queue_panel.view.clicked.connect(lambda index: r.go_to(index.row()))
        self.escalate_bar.submitted.connect(r.escalate)
        self.escalate_bar.closed.connect(lambda: self.viewer.setFocus())

    def _on_escalate_key(self) -> None:
        if self.reviewer.current is not None and not self.reviewer.saving:
            self.viewer.end_peek()
            self.escalate_bar.open_bar()

    def _on_peek_press(self) -> None:
        if not self.viewer.start_peek() and self.viewer.prepared is not None:
            self.statusBar().showMessage("The policy does not allow revealing this item", 5000)

    def _on_reviewer_current(self, item) -> None:
        self.facts.show_item(item)
        self.queue_panel.select(self.reviewer.index)
        total = len(self.reviewer.items)
        self.status_label.setText(f"{self.reviewer.index + 1 if total else 0} / {total} open")

    def closeEvent(self, event) -> None:
        self.viewer.end_peek()
        self.runner.wait()  # every queued write reaches the store before the window goes
        super().closeEvent(event)
