"""Every hash of one media file (PDQ with its dihedral variants, pHash, frame PDQs, MD5, SHA-256),
computed from the reduced decode banks are built with, and read back from `media_hashes` rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from blurring.decode import OpenImage, open_image
from blurring.hashing import pdq_luma, pdq_luma_dihedral, phash_luma
from blurring.sniff import sniff_file
from moderator.domain import MediaKind
from moderator.signals import (
    DIHEDRAL_VARIANTS,
    HASH_MAX_SIDE,
    MD5,
    PDQ,
    PDQ_MIN_QUALITY,
    PHASH,
    SHA256,
    HashResult,
)
from moderator.video_hash import FrameHash, distinct_frames, hash_video, keep_distinct
from storage import banks as banks_repo
from storage import items as items_repo


@dataclass(frozen=True)
class MediaHashes:
    """Every hash of one file: images get pixel and byte hashes, videos frame PDQs and byte hashes."""

    kind: MediaKind
    hashes: tuple[HashResult, ...] = ()
    pdq_variants: tuple[str, ...] = ()  # 8 dihedral PDQs, only for a usable PDQ and when a bank needs them
    frames: tuple[FrameHash, ...] = ()

    def rows(self) -> list[banks_repo.HashTuple]:
        rows = [(h.signal_type, h.hex, h.quality, None, None) for h in self.hashes]
        return rows + [(PDQ.name, f.hex, f.quality, f.index, f.time_s) for f in self.frames]

    def media_rows(self) -> list[items_repo.MediaHashRow]:
        """Everything computed from the content, dihedral variants included, for `media_hashes`."""
        rows = [(s, v, q, f, t, None) for s, v, q, f, t in self.rows()]
        variants = zip(self.pdq_variants, DIHEDRAL_VARIANTS, strict=True) if self.pdq_variants else ()
        return rows + [(PDQ.name, v, None, None, None, name) for v, name in variants]

    @classmethod
    def from_media_rows(cls, kind: MediaKind, rows: list[items_repo.MediaHashRow]) -> MediaHashes | None:
        """The hashes stored for a media file (None when it was never hashed), so an item sharing the
        file is matched without decoding it again."""
        if not rows:
            return None
        hashes = tuple(HashResult(s, v, q, s != PDQ.name or (q or 0) >= PDQ_MIN_QUALITY)
                       for s, v, q, f, _t, var in rows if f is None and var is None)
        variants = tuple(v for _s, v, _q, _f, _t, var in rows if var is not None)
        frames = tuple(FrameHash(f, t, v, q or 0) for _s, v, q, f, t, var in rows if f is not None and var is None)
        return cls(kind, hashes, variants, frames)

    def covers(self, dihedral: bool) -> bool:
        """Whether these hashes are all a match needs: the dihedral variants when asked for, unless
        there is no usable PDQ to turn."""
        usable_pdq = any(h.signal_type == PDQ.name and h.usable for h in self.hashes)
        return not (dihedral and usable_pdq and not self.pdq_variants)

    def queries(self, signal_type: str) -> list[tuple[str, str | None]]:
        """(hash, variant name) to look up in a bank of this signal type; unusable hashes never are.
        An animated image's distinct frames are looked up each on its own: one known frame matches."""
        frames = [(f.hex, None) for f in distinct_frames(self.frames)
                  if signal_type == PDQ.name and self.kind is MediaKind.IMAGE]
        if signal_type == PDQ.name and self.pdq_variants:
            return list(zip(self.pdq_variants, DIHEDRAL_VARIANTS, strict=True)) + frames
        return [(h.hex, None) for h in self.hashes if h.signal_type == signal_type and h.usable] + frames


def hash_media(path: str | Path, sha256: str | None = None, dihedral: bool = True, *,
               kind: MediaKind | None = None) -> MediaHashes:
    """Hash a file from the reduced decode (the same pipeline banks are built with); MediaError if unreadable.

    One open and one decode of an image (every frame of an animation), one read for the digests;
    `kind` (known for an item) spares the sniff, which otherwise says first why a file is not media."""
    kind = kind or sniff_file(path)[0]
    if kind is MediaKind.VIDEO:
        return MediaHashes(MediaKind.VIDEO, _digests(path, sha256), frames=tuple(hash_video(path)))
    with open_image(path) as im:
        hashes = hash_decoded(im, (), dihedral)
    return MediaHashes(MediaKind.IMAGE, hashes.hashes + _digests(path, sha256), hashes.pdq_variants, hashes.frames)


def hash_decoded(im: OpenImage, digests: tuple[HashResult, ...], dihedral: bool) -> MediaHashes:
    """PDQ (and its dihedral variants), pHash and, for an animation, every frame's PDQ, from one pass
    over an opened image's frames at the hashing size; `digests` are the file's, read by the caller.

    Frames are decoded as luma, all either hash sees (blurring.hashing), and the first frame's PDQ
    comes from the same pdqhash pass as its dihedral variants when a bank needs them: one PDQ an image."""
    first, frames, animated, variants = None, [], im.info.frames > 1, ()
    for index, time_s, gray in im.gray_frames_for_hash((HASH_MAX_SIDE, HASH_MAX_SIDE)):
        if index == 0 and dihedral:
            hexed, quality, turned = pdq_luma_dihedral(gray)
        else:
            (hexed, quality), turned = pdq_luma(gray), ()
        result = HashResult(PDQ.name, hexed, quality, quality >= PDQ_MIN_QUALITY)
        if index == 0:
            first, pdq = gray, result
            variants = tuple(turned) if result.usable else ()
        if animated:
            keep_distinct(frames, index, time_s, result)
    return MediaHashes(MediaKind.IMAGE, (pdq, HashResult(PHASH.name, phash_luma(first)), *digests),
                       variants, tuple(frames))


def _digests(path: str | Path, sha256: str | None) -> tuple[HashResult, HashResult]:
    """MD5 and SHA-256 of the file from one read (SHA-256 taken as given when known)."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
            if sha256 is None:
                sha.update(chunk)
    return HashResult(MD5.name, md5.hexdigest()), HashResult(SHA256.name, sha256 or sha.hexdigest())

