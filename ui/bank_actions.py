"""Banks in the desk: match unhashed items in the background, and add a decided item to a bank."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from moderator.session import bank_decisions
from ui.bank_bar import AddToBankBar
from ui.reviewer import Reviewer
from ui.tasks import TaskRunner

if TYPE_CHECKING:
    from moderator.banks import BankService
    from moderator.matching import MatchSummary
    from moderator.result_messages import ResultMessage
    from ui.bank_decisions_dialog import BankDecisionsDialog


class BankActions(QObject):
    message = Signal(str)
    matched = Signal(object)  # MatchSummary
    results = Signal(object)  # list[ResultMessage]: each item the run closed or could not match

    def __init__(self, reviewer: Reviewer, runner: TaskRunner, bar: AddToBankBar, parent: QObject | None = None):
        super().__init__(parent)
        self.reviewer, self.runner, self.bar = reviewer, runner, bar
        service = reviewer.service
        self.store, self.policy, self.actor = service.store, service.policy, service.actor
        bar.submitted.connect(self._on_bar_submitted)

    @cached_property
    def dialog(self) -> BankDecisionsDialog:
        """The list of items banks closed (Ctrl+B), a window of the desk's, made on first use: building it
        is not the desk's start-up's (~10 ms, timed in-process once Qt's enums exist)."""
        from ui.bank_decisions_dialog import BankDecisionsDialog

        dialog = BankDecisionsDialog(self.parent())
        dialog.reopen_requested.connect(self._on_dialog_reopen)
        return dialog

    @cached_property
    def banks(self) -> BankService:
        """Made on first use, on a worker: the hashing stack it imports (0.1-0.2 s) is not the desk's
        start-up's (bench/bench_startup.py)."""
        from moderator.banks import BankService

        return BankService(self.store, self.policy, self.actor)

    def show_bank_decisions(self) -> None:
        """List the items banks closed on their own; a moderator can reopen any of them."""
        self.runner.run(lambda: bank_decisions(self.store), self._on_bank_decisions)

    def _on_bank_decisions(self, rows: list[dict]) -> None:
        self.dialog.show_rows(rows)
        self.dialog.show()

    def _on_dialog_reopen(self, item_id: str) -> None:
        store, actor = self.store, self.actor

        def reopened(result) -> None:
            self.message.emit("Reopened: the item is back in the queue")
            self.reviewer.apply_changes(result.changes)
            self.show_bank_decisions()

        def work():
            from moderator.matching import reopen

            return reopen(store, item_id, actor)

        self.runner.write(work, reopened,
                          lambda exc: self.message.emit(f"Not reopened: {exc}"))

    def match_in_background(self) -> None:
        """Hash, match and route every item not hashed yet; the queue applies what routing changed.

        Without any bank there is nothing to match: items stay unhashed until a bank exists (as with
        `moderator import`), so a store without banks never spends CPU on hashing.
        """
        store, policy = self.store, self.policy

        def work() -> tuple[MatchSummary, list[ResultMessage]] | None:
            from moderator.matching import match_pending
            from moderator.result_messages import matching_messages

            if not self.banks.list_banks():
                return None
            summary = match_pending(store, policy)
            return summary, matching_messages(store, summary) if summary.hashed else []

        self.runner.run(work, self._on_matched, lambda exc: self.message.emit(f"Matching stopped: {exc}"),
                        background=True)

    def open_add_bar(self) -> None:
        last = self.reviewer.last_decided
        if last is None:
            self.message.emit("Decide an item first: B adds the item you just decided to a bank")
            return
        item, decision = last
        self.runner.run(lambda: self.banks.list_banks(), lambda banks: self._show_bar(item, decision, banks))

    def _show_bar(self, item, decision, banks) -> None:
        if not banks:
            self.message.emit("No banks yet: create one with `moderator bank import FILE --name N --kind block`")
            return
        title = item.external_id or item.source_name or item.id[:8]
        label = decision.labels[0] if decision.labels else ""
        self.bar.open_bar(item.id, f"{title} (decided {label or decision.action.value})", label, banks)

    def _on_bar_submitted(self, item_id: str, bank: str, label: str) -> None:
        self.message.emit(f"Hashing the item for {bank}…")
        self.runner.run(lambda: self.banks.add_to_bank(item_id, bank, label or None),
                        lambda r: self.message.emit(f"Added {r.added} hash(es) to {r.bank} as {r.label or 'unlabelled'}"),
                        lambda exc: self.message.emit(f"Not added: {exc}"), background=True)

    def _on_matched(self, done: tuple[MatchSummary, list[ResultMessage]] | None) -> None:
        if done is None:
            return
        summary, messages = done
        self.matched.emit(summary)
        if summary.hashed:
            self.message.emit(f"Bank matching: {summary.text}")
        self.results.emit(messages)
        self.reviewer.apply_changes(summary.changes)
