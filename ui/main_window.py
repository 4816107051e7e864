"""The main window: assembles the panels and connects their signals; the keys come from ui/actions.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from moderator.actions import GRID_VIEW_KEYS, DeskMode, hints
from moderator.exposure import HubExposure
from moderator.keymap import Binding
from moderator.keymap import bindings as make_bindings
from moderator.policy_floors import apply_floors, describe
from moderator.report_context import item_context
from moderator.review import ReviewService
from moderator.settings import FORM, Settings, save_settings
from ui.actions import create_actions, create_label_actions, set_mode
from ui.bank_actions import BankActions
from ui.bank_bar import AddToBankBar
from ui.escalate_bar import EscalateBar
from ui.help_dialog import HelpDialog
from ui.import_action import ImportAction
from ui.messages_panel import MessagesPanel
from ui.progress_strip import attach_progress
from ui.queue_panel import QueuePanel
from ui.reveal import RevealController
from ui.reviewer import Reviewer
from ui.side_panels import FactsPanel, LabelsPanel
from ui.tasks import TaskRunner
from ui.video_player import VideoPlayer
from ui.viewer import MediaViewer
from ui.wellness_panel import BreakBanner, ExposureMeter, WellnessMonitor

if TYPE_CHECKING:  # made when first used (start-up: bench/bench_startup.py): the grid on G, the sync with a hub
    from ui.dashboard import DashboardPanel
    from ui.grid_panel import GridPanel
    from ui.history_panel import HistoryPanel
    from ui.settings_dialog import SettingsDialog

SIDE_WIDTH = 350  # "Media: image · image/jpeg · 1024×768" on one line at the theme's 13 px (measured: 207 px)
QUEUE_WIDTH, QUEUE_MIN_WIDTH = 400, 250


class MainWindow(QMainWindow):
    def __init__(self, service: ReviewService, keymap: dict[str, tuple[str, ...]],
                 settings: Settings | None = None, title: str = "", sync=None, load: bool = False,
                 first_item=None):
        """load: read the queue now, on a worker, while the rest of the window is built (start-up);
        first_item: a read of it already under way (ui/first_item.py)."""
        super().__init__()
        self.setWindowTitle(f"Moderator Desk — {title}" if title else "Moderator Desk")
        # The policy's floors first: a setting below one never takes effect (moderator.policy_floors)
        self.settings = settings = apply_floors(settings or Settings(), service.policy.floors)[0]
        self.runner = TaskRunner(self)
        self.reveal = RevealController(settings.reveal_seconds, self)
        self.viewer = MediaViewer(self.reveal, settings.spotlight_radius)
        self.reviewer = self._make_reviewer(service, settings)
        if load:
            self.reviewer.load(first_item)  # delivered on the GUI thread once the window is built and the loop runs
        self.reviewer.empty_text = (f"The queue is empty. Import media with {keymap['import_media'][0]}, "
                                    "or `moderator import PATH`.")
        self.player = VideoPlayer(self.runner, self.viewer, self)
        self.queue_panel = QueuePanel(self.reviewer.model)
        self.facts = self._make_facts(keymap)
        self.labels = LabelsPanel(service.policy, keymap)
        self.escalate_bar = EscalateBar(service.policy)
        self.messages = MessagesPanel(keymap["messages"][0])
        self.bank_bar = AddToBankBar()
        self.importer = ImportAction(self.reviewer, self.runner, self)
        self.bank_actions = BankActions(self.reviewer, self.runner, self.bank_bar, self)
        self.break_banner = BreakBanner()
        self.wellness = WellnessMonitor(service, self.runner, self.reveal, settings, self.break_banner, self)
        self.meter = ExposureMeter()
        self.bindings = make_bindings(keymap, service.policy)
        self._help: HelpDialog | None = None  # made on first use (its table: 0.1 s of start-up)
        self.grid: GridPanel | None = None  # made on the first G: a desk that never opens it pays nothing
        self.grid_shown = False
        self._settings_dialog: SettingsDialog | None = None  # made on first use (its spin boxes: ~7% of start-up)
        self._dashboard: DashboardPanel | None = None  # made on first use (Ctrl+D): ~5% of start-up
        self._history: HistoryPanel | None = None  # made on first use (H), as the dialogs above
        self.sync = None
        if sync is not None:
            from ui.sync_driver import SyncDriver

            self.sync = SyncDriver(sync, self.reviewer, self.runner, self)
        self.hub_exposure = HubExposure(sync.hub, service.store, service.actor) if sync is not None else None
        if self.sync is not None:
            self.reviewer.empty_text = "Waiting for work from the hub…"
            self.wellness.use_hub(self.hub_exposure.other_desks_ms)  # the budget counts the other desks too
        self._quit_confirmed = False
        self._queue_hidden = self._queue_dragged = False
        self._build_layout()
        self.key_actions = dict(create_actions(self, keymap))
        self.label_actions = create_label_actions(self)
        self._keymap = keymap
        self.break_banner.set_keys(keymap["break_start"], keymap["break_snooze"])
        self.set_mode(DeskMode.DESK)
        self._wire()
        self.progress = attach_progress(self)  # above the viewer; it keeps the status bar's count too
        self.resize(1500, 900)

    @property
    def help(self) -> HelpDialog:
        """The shortcut sheet (F2), made when first asked for (ui/app.py asks once the desk is idle)."""
        if self._help is None:
            self._help = HelpDialog(self.bindings + [Binding("grid_view", k, d) for k, d in GRID_VIEW_KEYS], self)
        return self._help

    @property
    def settings_dialog(self) -> SettingsDialog:
        """The settings form (its action), made when first asked for: no start-up cost for a desk that
        never opens it."""
        if self._settings_dialog is None:
            from ui.settings_dialog import SettingsDialog

            self._settings_dialog = SettingsDialog(self, floors=self.reviewer.service.policy.floors)
            self._settings_dialog.saved.connect(self.apply_settings)
        return self._settings_dialog

    @property
    def dashboard(self) -> DashboardPanel:
        """The report's charts (their key), made when first asked for, with its own refresh key."""
        if self._dashboard is None:
            from ui.dashboard import DashboardPanel

            self._dashboard = DashboardPanel(self.reviewer.service.store, self.runner, self,
                                             self._keymap["dashboard_refresh"])
        return self._dashboard

    @property
    def history(self) -> HistoryPanel:
        """The moderator's last decisions (H), made when first asked for: its table is not start-up's."""
        if self._history is None:
            from ui.history_panel import HistoryPanel

            self._history = HistoryPanel(self.reviewer, self.runner, self)
        return self._history

    def _make_reviewer(self, service: ReviewService, settings: Settings) -> Reviewer:
        return Reviewer(service, self.runner, self.viewer, settings, self)

    def _make_facts(self, keymap: dict[str, tuple[str, ...]]) -> FactsPanel:
        facts = FactsPanel(keymap)
        store = self.reviewer.service.store  # the context around an item is read on a worker
        facts.attach(self.reviewer.service.policy,
                     lambda item, done: self.runner.run(lambda: item_context(store.db, item), done))
        return facts

    def set_mode(self, mode: DeskMode) -> None:
        """Only the commands live in `mode` answer their keys; the hint line names those."""
        set_mode(self.key_actions, mode)
        self.labels.hint.setText(" · ".join(h.replace(" ", "\u00a0") for h in hints(self._keymap, mode)))

    def _build_layout(self) -> None:
        centre = QWidget()
        self.centre_column = column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.break_banner)
        column.addWidget(self.viewer, 1)
        column.addWidget(self.escalate_bar)
        column.addWidget(self.bank_bar)
        column.addWidget(self.messages)
        self.side_panel = side = QWidget()
        side.setObjectName("sidePanel")
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(4, 0, 2, 0)  # the facts' own form keeps its margins: no double gutter
        side_column.addWidget(self.facts, 1)  # the facts scroll in what the labels (their own size) leave
        side_column.addWidget(self.labels)
        # The side panel has one width whatever its text says: a long name wraps inside it and
        # never pushes the viewer aside (the splitter would re-lay out on a new minimum width).
        side.setFixedWidth(SIDE_WIDTH)
        self.queue_panel.setMinimumWidth(QUEUE_MIN_WIDTH)  # the ID, SLA and category columns stay readable
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((self.queue_panel, 0), (centre, 1), (side, 0)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
            splitter.setCollapsible(splitter.count() - 1, False)  # hidden by its key, never squeezed to 0
        splitter.setSizes([QUEUE_WIDTH, 760, SIDE_WIDTH])
        splitter.splitterMoved.connect(self._on_splitter_dragged)
        self.setCentralWidget(splitter)
        self.status_label = QLabel("")
        for widget in (self.meter, self.status_label) + ((self.sync.indicator,) if self.sync else ()):
            widget.setObjectName(widget.objectName() or "statusCounter")
            widget.setContentsMargins(10, 0, 10, 0)  # counters side by side, never running together
            self.statusBar().addPermanentWidget(widget)

    # -- the panels' room (Ctrl+1 / Ctrl+3) -----------------------------------------------------------
    def toggle_queue(self) -> None:
        """Hide or show the queue panel: the viewer takes (or gives back) its width."""
        self._queue_hidden = not self._queue_hidden
        self.queue_panel.setVisible(not self._queue_hidden and not self.grid_shown)  # the grid hides it anyway

    def toggle_side(self) -> None:
        self.side_panel.setVisible(self.side_panel.isHidden())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._queue_dragged:  # until the moderator drags it, the queue takes a quarter at most
            self._fit_queue()

    def _fit_queue(self) -> None:
        sizes = self.splitter.sizes()
        if self.queue_panel.isHidden() or sum(sizes) <= 0:
            return
        queue = max(QUEUE_MIN_WIDTH, min(QUEUE_WIDTH, self.width() // 4))
        self.splitter.setSizes([queue, max(0, sum(sizes) - queue - sizes[2]), sizes[2]])

    def _on_splitter_dragged(self, _pos: int, index: int) -> None:
        self._queue_dragged = self._queue_dragged or index == 1  # the handle right of the queue

    def _wire(self) -> None:
        r, v = self.reviewer, self.viewer
        r.queue_changed.connect(self.queue_panel.show_items)
        r.current_changed.connect(self._on_reviewer_current)
        r.saved.connect(lambda _uuid, text: self.statusBar().showMessage(text, 4000))
        r.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        r.decided.connect(self.wellness.on_decided)
        r.exposure_saved.connect(self.wellness.refresh)
        self.wellness.updated.connect(self.meter.show_today)
        self.reveal.refused.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.runner.failed.connect(lambda text: self.statusBar().showMessage(f"Error: {text}", 8000))
        self.queue_panel.view.clicked.connect(lambda index: r.go_to(index.row()))
        self.escalate_bar.submitted.connect(r.escalate)
        self.escalate_bar.closed.connect(lambda: v.setFocus())
        self.bank_bar.closed.connect(lambda: v.setFocus())
        self.bank_actions.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.importer.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.importer.panel_key = self._keymap["messages"][0]
        self.importer.results.connect(self.messages.add)
        self.bank_actions.results.connect(self.messages.add)
        if self.sync is not None:
            self.sync.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.wellness.refresh()

    def apply_settings(self, settings: Settings) -> None:
        """Use new per-user settings now, and store them (on a worker) for the next start."""
        chosen = settings
        settings, overrides = apply_floors(chosen, self.reviewer.service.policy.floors)
        self.settings = settings
        self.reviewer.settings = settings
        self.reveal.reveal_seconds = settings.reveal_seconds
        if self.grid is not None:
            self.grid.peek.reveal.reveal_seconds = settings.reveal_seconds
        self.viewer.radius = settings.spotlight_radius
        self.wellness.settings = self.wellness.advisor.settings = settings
        self.reviewer.refilter()
        self.wellness.refresh()
        said = "Settings saved" if not overrides else \
            "Settings saved; the policy overrides " + describe(overrides, {n: f[0] for n, f in FORM.items()}) \
            .replace("\n", "; ")
        self.runner.write(lambda: save_settings(settings), lambda _r: self.statusBar().showMessage(said, 12000))

    def _on_reviewer_current(self, item) -> None:
        self.facts.show_item(item)
        self.labels.suggest(item.suggested_label if item else None)
        self.player.attach(item, self.reviewer.spec_for(item) if item else None)
        if self.grid_shown:  # the blur keys or settings changed the filter: the tiles follow
            self.grid.refilter()
            self.facts.show_item(self.grid.focused_item())
        self.queue_panel.select(self.reviewer.index)

    # -- the grid (G) ------------------------------------------------------------------------
    def toggle_grid(self) -> None:
        if self.grid_shown:
            self.show_viewer(self.grid.focused_item().id if self.grid.focused_item() else None)
        else:
            self.show_grid()

    def show_grid(self) -> None:
        if self.grid is None:
            from ui.grid_panel import GridPanel

            self.grid = GridPanel(self.reviewer, self)
            self.centre_column.insertWidget(self.centre_column.indexOf(self.viewer) + 1, self.grid, 1)
            self.grid.open_item.connect(self.show_viewer)
            self.grid.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
            self.grid.focused_changed.connect(self._on_grid_focus)
            self.grid.peek.exposure_saved.connect(self.wellness.refresh)
            self.wellness.watch(self.grid.peek.reveal)  # the meter counts a grid peek while it runs
        self.viewer.end_reveal()
        self.player.pause()
        for widget in (self.viewer, self.escalate_bar, self.bank_bar, self.queue_panel):
            widget.hide()
        self.grid.show()
        self.grid_shown = True
        self.reviewer.prefetch = False
        self.set_mode(DeskMode.GRID)
        self.grid.activate(True, self.reviewer.current.id if self.reviewer.current else None)

    def show_viewer(self, item_id: str | None = None) -> None:
        """Back to the single viewer, on `item_id` when it is still open."""
        if self.grid is None:
            return
        self.grid.activate(False)
        self.grid.hide()
        self.grid_shown = False
        self.reviewer.prefetch = True
        self.viewer.show()
        self.queue_panel.setVisible(not self._queue_hidden)  # Ctrl+1's choice outlives the grid
        self.set_mode(DeskMode.DESK)
        row = self.reviewer.queue.row_of(item_id) if item_id else None
        if row is not None and row != self.reviewer.index:
            self.reviewer.go_to(row)
        else:
            self.reviewer.refilter()
        self.viewer.setFocus()

    def _on_grid_focus(self, item) -> None:
        self.facts.show_item(item)
        self.labels.suggest(item.suggested_label if item else None)

    def _quit_anyway(self) -> None:
        self._quit_confirmed = True
        self.close()

    def changeEvent(self, event) -> None:
        if event.type() == event.Type.ActivationChange and not self.isActiveWindow():
            self.viewer.end_reveal()  # never leave media revealed behind another window
            if self.grid is not None:
                self.grid.end_peek()
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        if self.sync is not None and self.sync.unsynced and not self._quit_confirmed:
            event.ignore()  # decisions the hub has not got: ask first (they are kept either way)
            from ui.sync_driver import confirm_quit

            confirm_quit(self, self.sync.unsynced, self._quit_anyway)
            return
        self.viewer.end_reveal()
        self.player.detach()
        if self.sync is not None:
            self.sync.release_on_quit()  # queued before the shutdown below, which waits for it
        # Every queued write reaches the store before the window goes, and no late callback
        # starts new work: the store closes right after this window.
        self.runner.shutdown()
        if self.hub_exposure is not None:
            self.hub_exposure.close()
        super().closeEvent(event)
