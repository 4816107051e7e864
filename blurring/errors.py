"""The one error type for media that cannot be shown: it carries a short reason for the moderator."""

from __future__ import annotations


class MediaError(Exception):
    """A file that is not usable media; `reason` is short enough to show in a list of skipped files.

    Examples: "empty file", "truncated or corrupt image",
    "image too large: 50000x50000 pixels exceeds the 100 MP limit".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self):  # keep `reason` when the error crosses a process boundary (pickle)
        return (type(self), (self.reason,))
