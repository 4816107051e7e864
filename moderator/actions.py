"""Every command of the desk, declared once: its keymap.toml name, what `?` says it does, its side-panel hint.

Qt-free, like Picard's `MainAction(str, Enum)`: the keys come from the keymap data, the widgets from ui/actions.py.
A command is live in some desk modes only (`modes`): two commands may share a key when no mode has both.
"""

from __future__ import annotations

from enum import StrEnum


class DeskAction(StrEnum):
    """A desk command; its value is the command's name in keymap.toml."""

    # name in keymap.toml, description for `?`, side-panel hint ("{key}" is the first bound key)
    NEXT = "next", "Next item", "{key} next"
    PREVIOUS = "previous", "Previous item", "{key} previous"
    SKIP = "skip", "Skip: hidden for a while (or until it is due), then back in its place", "{key} skip"
    ESCALATE = "escalate", "Escalate with a note", "{key} escalate"
    UNDO = "undo", "Undo your last decision if recent (writes a superseding row; older ones: the history)", "{key} undo"
    ACCEPT_SUGGESTION = "accept_suggestion", "Apply the label a bank match suggests", "{key}: suggested label"
    ADD_TO_BANK = "add_to_bank", "Add the item you just decided to a hash bank", "{key} add to bank"
    BANK_DECISIONS = "bank_decisions", "Items banks closed on their own (reopen any of them)", ""
    PEEK = "peek", "Hold to peek unfiltered; filters return on release", "hold {key} to peek"
    SPOTLIGHT = "spotlight", "Hold: an unfiltered circle follows the cursor (wheel: size)", ""
    SPOTLIGHT_TOGGLE = "spotlight_toggle", "Spotlight for a few seconds (press again to end)", ""
    REVEAL = "reveal", "Reveal the whole item for a few seconds, then filters return", "{key} reveal"
    BLUR_MORE = "blur_more", "More blur", ""
    BLUR_LESS = "blur_less", "Less blur (never below the policy)", ""
    PLAY = "play", "Video: play / pause the filtered frames", ""
    FRAME_NEXT = "frame_next", "Video: next frame", ""
    FRAME_PREVIOUS = "frame_previous", "Video: previous frame", ""
    IMPORT_MEDIA = "import_media", "Import a folder of media (checked, hashed, matched in the background)", ""
    SETTINGS = "settings", "Your settings: default filter, reveal, exposure budget, breaks", ""
    HELP = "help", "Show every shortcut", "{key} all keys"
    FOCUS_QUEUE = "focus_queue", "Focus the queue list", ""
    QA_RESOLVE = "qa_resolve", "QA disagreement: resolve it (the final label's key, a note, Enter)", "{key} resolve"
    QA_LEAVE_FOR_LEAD = "qa_leave_for_lead", "QA disagreement: leave it open for the lead", "{key} leave for the lead"
    DASHBOARD = "dashboard", "Dashboard: the report's charts (throughput, handle time, SLA, exposure, QA)", ""
    DASHBOARD_REFRESH = "dashboard_refresh", "Dashboard: compute the charts again", ""
    GRID = "grid", "Grid: switch between the single viewer and a grid of filtered thumbnails", "{key} grid"
    GRID_OPEN = "grid_open", "Grid: open the focused item in the single viewer", "{key} open"
    GRID_SELECT_ALL = "grid_select_all", "Grid: select every thumbnail shown", ""
    GRID_LARGER = "grid_larger", "Grid: larger thumbnails", ""
    GRID_SMALLER = "grid_smaller", "Grid: smaller thumbnails", ""
    GRID_FAMILIES = "grid_families", "Grid: fold near-duplicates into families (a label key labels whole families)", "{key} families"
    HISTORY = "history", "Your last decisions: undo one (with a confirmation) or open it read-only", "{key} history"
    TOGGLE_QUEUE = "toggle_queue", "Hide or show the queue panel (more room for the media)", ""
    TOGGLE_SIDE = "toggle_side", "Hide or show the side panel (item facts and labels)", ""
    BREAK_START = "break_start", "Start a break now (the break banner's Start break)", ""
    BREAK_SNOOZE = "break_snooze", "Snooze the break reminder for 10 minutes", ""
    MESSAGES = "messages", "Show or hide the messages: each import and bank result, item by item", ""

    def __new__(cls, command: str, description: str, hint: str) -> DeskAction:
        member = str.__new__(cls, command)
        member._value_ = command
        member.description = description
        member.hint = hint
        return member

    @property
    def modes(self) -> frozenset[DeskMode]:
        """The desk modes in which this command's keys do something."""
        if self in _VERDICT_ONLY:
            return frozenset({DeskMode.VERDICT})
        if self in _GRID_ONLY:
            return frozenset({DeskMode.GRID})
        if self in _DESK_AND_GRID:
            return frozenset({DeskMode.DESK, DeskMode.GRID})
        if self in _DESK_ONLY:
            return frozenset({DeskMode.DESK})
        if self in _NOT_IN_VERDICT:
            return frozenset({DeskMode.DESK, DeskMode.QA})
        if self in _VIEWER_ONLY:
            return frozenset(DeskMode) - {DeskMode.GRID}
        return frozenset(DeskMode)

    @property
    def held(self) -> bool:
        """Watched while held down (press and release), so bound to one key or one modifier."""
        return self in (DeskAction.PEEK, DeskAction.SPOTLIGHT)


class DeskMode(StrEnum):
    """What the desk is doing, which decides the commands whose keys are live."""

    DESK = "desk"  # moderating the queue
    QA = "qa"  # blind QA re-review: nothing of the original decision is shown yet
    VERDICT = "verdict"  # a QA disagreement on screen: resolve it or leave it for the lead
    GRID = "grid"  # the thumbnail grid of the queue: label keys apply to every selected item


# Moderation ops that act on the moderator's queue, or show what banks and moderators decided.
_DESK_ONLY = frozenset({DeskAction.ESCALATE, DeskAction.UNDO, DeskAction.ACCEPT_SUGGESTION, DeskAction.ADD_TO_BANK,
                        DeskAction.BANK_DECISIONS, DeskAction.IMPORT_MEDIA})
# While a disagreement waits for resolve or leave, the analyst does not wander off it.
_NOT_IN_VERDICT = frozenset({DeskAction.NEXT, DeskAction.PREVIOUS, DeskAction.SKIP, DeskAction.SPOTLIGHT_TOGGLE,
                             DeskAction.FOCUS_QUEUE})
_VERDICT_ONLY = frozenset({DeskAction.QA_RESOLVE, DeskAction.QA_LEAVE_FOR_LEAD})
# The grid's own keys; the toggle, undo and the queue-wide ops work in the desk and the grid alike.
_GRID_ONLY = frozenset({DeskAction.GRID_OPEN, DeskAction.GRID_SELECT_ALL, DeskAction.GRID_LARGER,
                        DeskAction.GRID_SMALLER, DeskAction.GRID_FAMILIES})
_DESK_AND_GRID = frozenset({DeskAction.GRID, DeskAction.UNDO, DeskAction.BANK_DECISIONS, DeskAction.IMPORT_MEDIA,
                            DeskAction.HISTORY})
# Keys of the one item in the viewer, which the grid hides.
_VIEWER_ONLY = frozenset({DeskAction.REVEAL, DeskAction.PLAY, DeskAction.FRAME_NEXT, DeskAction.FRAME_PREVIOUS})
# Keys the grid's list view owns (Qt's own item navigation and selection): listed by `?`, not rebindable.
GRID_VIEW_KEYS = (
    (("Arrows", "Home", "End", "PgUp", "PgDown"), "Grid: move the focus (the selection follows)"),
    (("Shift+Arrows", "Shift+Home", "Shift+End"), "Grid: extend the selection"),
    (("Ctrl+Arrows", "Ctrl+Space"), "Grid: move the focus without selecting; Ctrl+Space adds or drops the focused one"),
    (("Click", "Shift+Click", "Ctrl+Click", "Drag"), "Grid: select one, a range, add or drop one, a rubber band"),
)
_BY_COMMAND = {a.value: a for a in DeskAction}


def modes_of(command: str) -> frozenset[DeskMode]:
    """The modes a keymap command (or a policy label, "label:<name>") is live in: labels always are."""
    action = _BY_COMMAND.get(command)
    return action.modes if action is not None else frozenset(DeskMode)


def first_key(keymap: dict[str, tuple[str, ...]], action: DeskAction) -> str:
    """The key a hint shows for `action`: the first one the keymap binds it to."""
    return keymap[action.value][0]


def hints(keymap: dict[str, tuple[str, ...]], mode: DeskMode = DeskMode.DESK) -> list[str]:
    """The reminders of the everyday keys ("S skip", "hold Space to peek") live in `mode`, in the keys bound now."""
    return [a.hint.format(key=first_key(keymap, a)) for a in DeskAction if a.hint and mode in a.modes]

