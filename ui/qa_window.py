"""The QA desk (`moderator desk --qa`): the moderator's window, its viewer, filters, reveal rules,
wellness and keys, over the analyst's blind QA tasks, with the verdict panel and the resolve bar."""

from __future__ import annotations

from moderator.actions import DeskMode
from moderator.qa_service import QaService
from moderator.review import ReviewService
from moderator.settings import Settings
from ui.main_window import MainWindow
from ui.qa_hub_driver import QaHubDriver
from ui.qa_panels import QaFactsPanel, QaResolveBar, QaVerdictPanel
from ui.qa_reviewer import QaReviewer


class QaWindow(MainWindow):
    def __init__(self, service: ReviewService, qa: QaService, keymap: dict[str, tuple[str, ...]],
                 settings: Settings | None = None, title: str = ""):
        self.qa = qa  # read by _make_reviewer, during MainWindow's construction
        self.verdict_panel = QaVerdictPanel(keymap)
        self.resolve_bar = QaResolveBar(service.policy)
        super().__init__(service, keymap, settings, title=f"QA · {title}" if title else "QA")
        self.reviewer.empty_text = "No QA tasks for you. A lead samples decisions with `moderator qa sample`."
        self.queue_panel.title.setText("QA tasks")
        self.hub_driver: QaHubDriver | None = None
        if qa.remote:  # tasks leased from the team hub
            self.verdict_panel.remote = True
            self.reviewer.empty_text = ("No QA tasks for you on the hub. A lead samples decisions with "
                                        "`moderator hub qa sample`.")
            self.hub_driver = QaHubDriver(qa, self.reviewer, self.runner, self)
            self.statusBar().addPermanentWidget(self.hub_driver.indicator)
            self.hub_driver.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.set_mode(DeskMode.QA)

    def closeEvent(self, event) -> None:
        if self.hub_driver is not None and event.isAccepted():
            self.hub_driver.release_on_quit()  # queued before MainWindow's runner shutdown, which waits
        super().closeEvent(event)

    def _make_reviewer(self, service: ReviewService, settings: Settings) -> QaReviewer:
        return QaReviewer(service, self.qa, self.runner, self.viewer, settings, self)

    def _make_facts(self, keymap: dict[str, tuple[str, ...]]) -> QaFactsPanel:
        return QaFactsPanel(keymap)

    def _build_layout(self) -> None:
        super()._build_layout()
        at = self.centre_column.indexOf(self.viewer) + 1  # right under the picture
        self.centre_column.insertWidget(at, self.verdict_panel)
        self.centre_column.insertWidget(at + 1, self.resolve_bar)

    def _wire(self) -> None:
        super()._wire()
        r = self.reviewer
        r.verdict_changed.connect(self.verdict_panel.show_verdict)
        r.verdict_changed.connect(self.facts.show_verdict)
        r.mode_changed.connect(self.set_mode)
        r.resolving.connect(self._on_reviewer_resolving)
        r.final_label_picked.connect(self.resolve_bar.pick)
        self.resolve_bar.submitted.connect(r.resolve)
        self.resolve_bar.cancelled.connect(r.cancel_resolve)

    def _on_reviewer_resolving(self, open_: bool) -> None:
        if open_:
            self.resolve_bar.open_bar()
        else:
            self.resolve_bar.hide()
            self.viewer.setFocus()

    def _on_reviewer_current(self, item) -> None:
        super()._on_reviewer_current(item)
        total = len(self.reviewer.items)
        self.status_label.setText(f"QA task {self.reviewer.index + 1 if total else 0} / {total}")
        self.queue_panel.title.setText(f"QA tasks · {total} open")
