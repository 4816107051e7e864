"""Near-duplicate families: a spam wave, a re-upload, the same photo resized or re-compressed, grouped
so one key can label them all.

Two items are linked when their contents' PDQ hashes are within the PDQ match threshold (the one
banks match with, moderator.signals) or when they share content; a family is everything linked
through a chain of links (single linkage). Links are found with the banks' exact radius search
(moderator.hash_index.HashIndex): one query per distinct hash, never every pair.

Only a usable PDQ links (quality >= PDQ_MIN_QUALITY: a flat picture's PDQ says nothing); a video has
no content PDQ (its frames are hashed one by one, for banks), so it joins only items with the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from blurring.errors import MediaError
from moderator.hash_index import HashIndex
from moderator.media_hashes import hash_media
from moderator.signals import PDQ, PDQ_MIN_QUALITY
from storage import banks as banks_repo
from storage import items as items_repo
from storage.store import Store

# Hashes stored per write transaction: each commit is an fsync, and 10,000 of them would cost
# more than the hashing of a small queue.
_WRITE_BATCH = 64


def families(store: Store, item_ids: Sequence[str], *, threshold: int | None = None) -> dict[str, str]:
    """item id -> family id (the smallest item id in its family) for every id given; an item without a
    usable PDQ, or not in the store, is its own family unless it shares content with another."""
    threshold = PDQ.default_threshold if threshold is None else threshold
    if not 0 <= threshold <= PDQ.bits:
        raise ValueError(f"PDQ threshold must be 0..{PDQ.bits}, got {threshold}")
    ids = list(dict.fromkeys(item_ids))
    links = _Links(ids)
    by_sha: dict[str, str] = {}
    by_hash: dict[str, str] = {}  # one index row per distinct usable hash, named by its first item
    for item_id, sha256, hex_pdq, quality in items_repo.pdq_of_items(store.db, ids):
        links.union(item_id, by_sha.setdefault(sha256, item_id))
        if hex_pdq is not None and (quality or 0) >= PDQ_MIN_QUALITY:
            links.union(item_id, by_hash.setdefault(hex_pdq, item_id))
    _link_near(links, by_hash, threshold)
    return links.families()


def hash_for_grouping(store: Store, item_ids: Sequence[str],
                      progress: Callable[[int, int], None] | None = None) -> int:
    """Compute and store the hashes of every image among item_ids whose content was never hashed (an
    import without banks hashes nothing), whether or not banks exist: the very hashes matching would
    compute now (PDQ's dihedral variants only when a bank holds PDQ entries, as import does), stored
    where matching reads them (`media_hashes`), so matching reuses them without a decode. A file that
    cannot be decoded is left unhashed (its item stays its own family). For a worker. Returns the
    number of files hashed."""
    todo = list({item.sha256: item for item in items_repo.unhashed_images(store.db, list(item_ids))}.values())
    dihedral = _pdq_banks(store) if todo else False
    batch: list[tuple[str, list[items_repo.MediaHashRow]]] = []
    hashed = 0
    for n, item in enumerate(todo, 1):
        try:
            hashes = hash_media(item.media_path, item.sha256, dihedral=dihedral, kind=item.kind)
        except (MediaError, OSError):  # reported by matching, which audits it; here it just has no family
            hashes = None
        if hashes is not None:
            batch.append((item.sha256, hashes.media_rows()))
        if len(batch) >= _WRITE_BATCH or (n == len(todo) and batch):
            hashed += store.write(_save_all, batch)
            batch = []
        if progress:
            progress(n, len(todo))
    return hashed


def _pdq_banks(store: Store) -> bool:
    """Whether some bank holds PDQ entries (then matching queries PDQ's dihedral variants): the rule of
    moderator.matching.needs_dihedral, read without building the banks' indexes."""
    db = store.db
    return any(banks_repo.max_entry_id(db, bank.name, PDQ.name) for bank in banks_repo.list_banks(db, counts=False))


def _save_all(db, batch: list[tuple[str, list[items_repo.MediaHashRow]]]) -> int:
    return sum(items_repo.save_media_hashes(db, sha256, rows) for sha256, rows in batch)


def _link_near(links: _Links, by_hash: dict[str, str], threshold: int) -> None:
    """Link the items of every two distinct hashes within threshold: each hash queried once."""
    hexes = list(by_hash)
    index = HashIndex(PDQ.bits)
    index.add(hexes)
    owners = list(by_hash.values())
    for row, matches in enumerate(index.query_packed(index.packed, threshold)):
        for other, _distance in matches:
            if other > row:  # each pair is found from both ends, and every hash finds itself
                links.union(owners[row], owners[other])


class _Links:
    """Union-find over item ids (path halving, union by size)."""

    def __init__(self, ids: list[str]) -> None:
        self._parent = {i: i for i in ids}
        self._size = dict.fromkeys(ids, 1)

    def find(self, x: str) -> str:
        parent = self._parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]

    def families(self) -> dict[str, str]:
        smallest: dict[str, str] = {}
        for item_id in self._parent:
            root = self.find(item_id)
            if root not in smallest or item_id < smallest[root]:
                smallest[root] = item_id
        return {item_id: smallest[self.find(item_id)] for item_id in self._parent}
