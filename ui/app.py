"""Start the desk: check the platform, open the store, build the window, load the queue."""

from __future__ import annotations

import argparse
import sys

from moderator import paths
from moderator.domain import Policy
from moderator.hub_config import HubConfig, HubConfigError, load_hub_config
from moderator.keymap import load_keymap
from moderator.paths import config_dir, default_actor
from moderator.policy import load_policy
from moderator.resources import resource_path
from moderator.review import ReviewService
from moderator.settings import Settings, load_settings
from ui.platform_check import problem

# Start-up (bench/bench_startup.py): what only a desk with a hub needs (the sync, httpx), the grid, the
# dashboard's matplotlib and the bank hashing stack are imported when they are first used, not here.


def run_desk(args: argparse.Namespace) -> int:
    issue = problem()
    if issue:
        print(f"moderator: error: {issue}", file=sys.stderr)
        return 1
    # Every file a person edits is read before any window or store exists: a mistake in one is a
    # PolicyError/KeymapError/SettingsError that `moderator` prints as one line, not a dead desk.
    try:
        qa = getattr(args, "qa", False)
        # The demo queue never talks to a hub; with one, `--qa` leases the hub's QA tasks.
        hub = None if args.demo else load_hub_config()
    except HubConfigError as exc:
        print(f"moderator: error: {exc}", file=sys.stderr)
        return 2
    policy, keymap, settings = load_config(args.policy or (team_policy_file(args.data_dir) if hub else None))
    from moderator.session import has_items, open_desk_store

    store = open_desk_store(args.data_dir, demo=args.demo)
    actor = args.actor or default_actor()
    first = None
    # Not for a demo store still to be filled, nor with a hub (the sync feeds the queue), nor QA's tasks.
    if not (qa or hub) and (not args.demo or has_items(store)):
        from ui import first_item  # before Qt is imported: the read and the decode start first

        first = first_item.start(ReviewService(store=store, policy=policy, actor=actor), settings)
    window = None
    try:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(sys.argv[:1])
        app.setApplicationName("Moderator Desk")
        app.setStyleSheet(resource_path("theme.qss").read_text(encoding="utf-8"))
        window = build_window(store, policy, keymap, actor, demo=args.demo, settings=settings, hub=hub, qa=qa,
                              first_item=first)
        window.show()
        return app.exec()
    finally:
        from ui.tasks import drain_all

        drain_all()  # every queued write reaches the store, and no worker outlives it
        if window is not None and window.sync is not None:
            window.sync.service.close()
        if window is not None and getattr(window, "qa", None) is not None and window.qa.remote:
            window.qa.hub.close()
        store.close()


def team_policy_file(data_dir: str | None) -> str | None:
    """The policy the hub last sent (kept by the sync, checked before it was kept), if there is one:
    with a hub, the team's policy is the desk's unless --policy says otherwise."""
    from moderator.sync_banks import POLICY_FILE

    kept = paths.data_dir(data_dir) / POLICY_FILE
    return str(kept) if kept.is_file() else None


def load_config(policy_path: str | None) -> tuple[Policy, dict[str, tuple[str, ...]], Settings]:
    """The policy, the keymap (checked against the policy's digit keys) and the user's settings."""
    policy = load_policy(policy_path)
    keymap = load_keymap(config_dir() / "keymap.toml", policy)
    return policy, keymap, load_settings()


def build_window(store, policy, keymap, actor: str, *, demo: bool = False, settings: Settings | None = None,
                 hub: HubConfig | None = None, qa: bool = False, first_item=None):
    """The window on a store; with demo, an empty store is filled with the demo queue first (off-thread);
    with a hub, a sync service pulls work from it and pushes decisions up (on the network worker); with
    qa, the blind QA desk over `actor`'s QA tasks (the demo makes a sample for them when they have none);
    first_item: the queue's read and top picture already under way (ui/first_item.py)."""
    from ui.main_window import MainWindow

    # Hand the GIL over every 1 ms, not 5: the GUI thread gets it back promptly from the workers.
    sys.setswitchinterval(0.001)
    service = ReviewService(store=store, policy=policy, actor=actor)
    settings = settings or Settings()
    sync = None
    if hub is not None and not qa:
        from moderator.sync_service import SyncService

        sync = SyncService(store, policy, actor, hub, keep=settings.hub_in_hand)
    fill = demo and first_item is None  # with first_item, the demo store was filled already
    title = f"{'demo · ' if demo else ''}{store.data_dir}" + (f" · hub {hub.url}" if hub else "")
    if qa:
        from moderator.qa_service import QaService
        from ui.qa_window import QaWindow

        source = None
        if hub is not None:  # the hub's QA tasks, leased (moderator.qa_hub); else the local store's
            from moderator.qa_hub import HubQaSource

            source = HubQaSource.for_hub(store, policy, actor, hub.url, hub.token)
        window = QaWindow(service, QaService(store, policy, actor, hub=source), keymap, settings, title=title)
    else:
        window = MainWindow(service, keymap, settings, title=title, sync=sync, load=not fill, first_item=first_item)
    _once_first_shown(window, _collect_again)

    def loaded(_result=None) -> None:
        if fill or qa:  # else the desk's own queue is being read already (MainWindow's load)
            window.reviewer.load()
        if qa:  # no bank matching or moderation sync: the QA desk reads (or leases) QA tasks only
            if window.hub_driver is not None:
                window.hub_driver.start()
            return
        # Hashing and matching (their imports and their CPU) wait for the first item on screen.
        _once_first_shown(window, window.bank_actions.match_in_background)
        if window.sync is not None:
            window.sync.start()

    if fill:
        window.viewer.show_message("Preparing the demo queue…")
        window.runner.write(lambda: _fill_demo(store, policy, actor, qa), loaded)
    else:
        loaded()
    return window


def _once_first_shown(window, fn, fallback_ms: int = 2000) -> None:
    """Run fn once: when the first item is on screen, the queue was read empty, or after fallback_ms
    (a first item that cannot be shown)."""
    from PySide6.QtCore import QTimer

    done = []

    def run(*_args) -> None:
        if not done:
            done.append(True)
            fn()

    window.viewer.shown.connect(run)
    window.reviewer.queue_changed.connect(lambda count, _index: run() if count == 0 else None)
    QTimer.singleShot(fallback_ms, window, run)


def _collect_again() -> None:
    """After start-up (`moderator desk` turns the cyclic collector off until then): what start-up made
    lives as long as the window, so it is frozen out of every later collection, then collection resumes."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _fill_demo(store, policy, actor: str, qa: bool) -> None:
    from moderator.demo import ensure_demo

    ensure_demo(store, actor="demo")
    if qa:
        from moderator.qa_demo import ensure_qa_demo

        ensure_qa_demo(store, policy, actor)
