"""Exponential back-off with full jitter for calls to the hub (the AWS architecture blog's "full
jitter": a random wait between 0 and min(cap, base * 2**failures)), so desks that lost the hub together
do not all come back in the same second. Pure: the clock and the random source are injectable."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_EXPONENT = 30  # 2**30 * base is far past any cap; no float overflow however long the hub is away


@dataclass
class Backoff:
    base_s: float = 0.5
    cap_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    next_at: float | None = None  # clock() value before which no call is made

    def failed(self) -> float:
        """Count a failure and choose the wait before the next try; returns it in seconds."""
        self.failures += 1
        delay = self.rng.uniform(0.0, min(self.cap_s, self.base_s * 2 ** min(self.failures, MAX_EXPONENT)))
        self.next_at = self.clock() + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.next_at = 0, None

    def ready(self) -> bool:
        return self.next_at is None or self.clock() >= self.next_at

    def wait_s(self) -> float:
        """Seconds until the next try is due (0 when it is)."""
        return 0.0 if self.next_at is None else max(0.0, self.next_at - self.clock())
