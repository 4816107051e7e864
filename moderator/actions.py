"""Every command of the desk, declared once: its keymap.toml name, what `?` says it does, its side-panel hint.

Qt-free, like Picard's `MainAction(str, Enum)`: the keys come from the keymap data, the widgets from ui/actions.py.
"""

from __future__ import annotations

from enum import StrEnum


class DeskAction(StrEnum):
    """A desk command; its value is the command's name in keymap.toml."""

    # name in keymap.toml, description for `?`, side-panel hint ("{key}" is the first bound key)
    NEXT = "next", "Next item", "{key} next"
    PREVIOUS = "previous", "Previous item", "{key} previous"
    SKIP = "skip", "Skip (leave pending, move on)", "{key} skip"
    ESCALATE = "escalate", "Escalate with a note", "{key} escalate"
    UNDO = "undo", "Undo the last decision (writes a superseding row)", "{key} undo"
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

    def __new__(cls, command: str, description: str, hint: str) -> DeskAction:
        member = str.__new__(cls, command)
        member._value_ = command
        member.description = description
        member.hint = hint
        return member

    @property
    def held(self) -> bool:
        """Watched while held down (press and release), so bound to one key or one modifier."""
        return self in (DeskAction.PEEK, DeskAction.SPOTLIGHT)


def first_key(keymap: dict[str, tuple[str, ...]], action: DeskAction) -> str:
    """The key a hint shows for `action`: the first one the keymap binds it to."""
    return keymap[action.value][0]


def hints(keymap: dict[str, tuple[str, ...]]) -> list[str]:
    """The reminders of the everyday keys ("S skip", "hold Space to peek"), in the keys bound now."""
    return [a.hint.format(key=first_key(keymap, a)) for a in DeskAction if a.hint]

