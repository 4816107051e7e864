"""The grid's thumbnails: filtered like the viewer, from memory, the disk cache, or one reduced decode.

`cached` is the GUI thread's call (a dictionary look-up, no I/O); `make` is a worker's (it may read
the disk cache or decode). Whatever spec a caller passes, the item's policy filter (its floors: every
item filtered, suspected CSAM at blur 6 and gray) is added to it, so no caller can ask for less.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from blurring.thumbnails import check_size, thumbnail
from moderator.domain import FilterSpec, Item, Policy
from storage.store import Store, StoreError
from storage.thumb_cache import FORMAT, ThumbCache

THUMBS_DIR = "thumbs"  # in the data dir, beside the media cache
DISK_BYTES = 256 << 20  # ~30,000 gray 160 px thumbnails (bench_grid_core: ~8 KB each, digest included)

Key = tuple[str, str, int]  # (content sha256, filter, size)


class ThumbnailService:
    """Thumbnails of items, held in a size-capped memory cache (LRU by bytes) and a disk cache in the
    data dir. Every array returned is read-only, RGB uint8 (H, W, 3), longest side == size."""

    def __init__(self, store: Store, policy: Policy, *, memory_bytes: int = 64 << 20,
                 disk_bytes: int = DISK_BYTES) -> None:
        self.policy = policy
        self._memory = _MemoryCache(memory_bytes)
        self.disk = _open_disk(store, disk_bytes)

    def spec_for(self, item: Item, spec: FilterSpec) -> FilterSpec:
        """The filter a thumbnail gets: `spec` with the item's policy filter (and its floors) added."""
        return spec.stricter(self.policy.filter_for(item.category, item.suggested_label))

    def cached(self, item: Item, spec: FilterSpec, size: int) -> np.ndarray | None:
        """The thumbnail if it is in memory, else None. No I/O: safe on the GUI thread."""
        return self._memory.get(self._key(item, spec, size))

    def make(self, item: Item, spec: FilterSpec, size: int) -> np.ndarray:
        """The thumbnail from memory, the disk cache, or a reduced decode of the item's media and the
        filter (then stored in both caches). For workers. MediaError when the media cannot be decoded."""
        key = self._key(item, spec, size)
        found = self._memory.get(key)
        if found is not None:
            return found
        name = disk_name(key)
        found = self.disk.get(name, size) if self.disk else None
        if found is None:
            found = thumbnail(item.media_path, self.spec_for(item, spec), size, kind=item.kind)
            if self.disk:
                self.disk.put(name, found)
        found.flags.writeable = False
        self._memory.put(key, found)
        return found

    def _key(self, item: Item, spec: FilterSpec, size: int) -> Key:
        check_size(size)
        return item.sha256, filter_key(self.spec_for(item, spec)), size


def filter_key(spec: FilterSpec) -> str:
    """What of a spec changes the pixels (reveal does not: a thumbnail is never revealed)."""
    return f"b{spec.blur}p{spec.pixelate}{'g' if spec.grayscale else 'c'}{spec.style or ''}"


def disk_name(key: Key) -> str:
    sha256, spec, size = key
    return f"{sha256}-{FORMAT}-{spec}-{size}"


def _open_disk(store: Store, max_bytes: int) -> ThumbCache | None:
    """The data dir's thumbnail cache; none for a read-only store (an evidence copy is never written
    to) or a folder that cannot be made private: thumbnails are then made again when evicted."""
    if store.readonly:
        return None
    try:
        return ThumbCache(store.data_dir / THUMBS_DIR, max_bytes)
    except (OSError, StoreError):
        return None


class _MemoryCache:
    """Arrays by key, least recently used evicted first once their bytes pass the cap."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"memory_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self._items: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # workers put while the GUI thread gets

    def get(self, key: Key) -> np.ndarray | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Key, pixels: np.ndarray) -> None:
        if pixels.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.total_bytes += pixels.nbytes - (old.nbytes if old is not None else 0)
            self._items[key] = pixels
            while self.total_bytes > self.max_bytes:
                _key, evicted = self._items.popitem(last=False)
                self.total_bytes -= evicted.nbytes
