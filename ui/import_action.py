"""Import from the desk: pick a folder (or manifest), import it on a worker, match it, refresh the queue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from ui.reviewer import Reviewer
from ui.tasks import TaskRunner

if TYPE_CHECKING:  # the import stack is loaded by the first import's worker, not at the desk's start-up
    from moderator.ingest import ImportReport
    from moderator.result_messages import ResultMessage


class ImportAction(QObject):
    message = Signal(str)
    results = Signal(object)  # list[ResultMessage]: each skipped file, duplicate and item a bank closed
    progressed = Signal(int, int)  # emitted on the worker; queued to the GUI thread
    finished = Signal(object)  # ImportReport

    def __init__(self, reviewer: Reviewer, runner: TaskRunner, parent: QWidget):
        super().__init__(parent)
        self.reviewer, self.runner, self._parent = reviewer, runner, parent
        self.running = False
        self.panel_key = "M"  # the messages panel's key, named in the status line (main window sets it)
        self.progressed.connect(self._on_progressed)

    def ask(self) -> None:
        """The folder dialog: the moderator chose to import, so a modal picker is expected here."""
        folder = QFileDialog.getExistingDirectory(self._parent, "Import a folder of media")
        if folder:
            self.start([Path(folder)])

    def start(self, paths: list[Path]) -> None:
        if self.running:
            self.message.emit("An import is already running")
            return
        self.running = True
        service = self.reviewer.service
        self.message.emit("Importing…")
        self.runner.run(lambda: self._work(service, paths), self._on_done, self._on_failed, background=True)

    def _work(self, service, paths: list[Path]) -> tuple[ImportReport, list[ResultMessage]]:
        # The op walks the folders first (slow for big ones, so here on the worker) and raises
        # ImportUsageError before writing anything. The messages are built here too: they read the
        # bank decisions the run wrote.
        from moderator.importing import import_and_match
        from moderator.result_messages import import_messages, matching_messages

        outcome = import_and_match(service.store, paths, service.actor, service.policy,
                                                  progress=self.progressed.emit)
        messages = import_messages(outcome.report)
        if outcome.matching is not None:
            messages += matching_messages(service.store, outcome.matching)
        return outcome.report, messages

    def _on_progressed(self, done: int, total: int) -> None:
        self.message.emit(f"Importing… {done} / {total}")

    def _on_done(self, done: tuple[ImportReport, list[ResultMessage]]) -> None:
        self.running = False
        report, messages = done
        # One short line; every file's reason is in the messages panel, which never overflows.
        self.message.emit(f"Import: {report.summary}" + (f" ({self.panel_key} lists each)" if report.skipped else ""))
        self.results.emit(messages)
        self.finished.emit(report)
        self.reviewer.reload()

    def _on_failed(self, exc: Exception) -> None:
        from moderator.ingest import ImportUsageError  # loaded by the worker that raised it

        self.running = False
        what = "Not imported" if isinstance(exc, ImportUsageError) else "Import stopped"
        self.message.emit(f"{what}: {exc}")
