"""Grid thumbnails from a real store: every thumbnail the service hands out (made fresh, from memory, from
the disk cache) of colourful, sharp photos, an animated GIF and a video has no colour and little fine
detail; suspected CSAM is at blur 6 whatever the caller asks; the disk cache holds filtered pixels only,
is private and size-capped, and a damaged file in it is made again, never shown."""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from blurring.errors import MediaError
from blurring.preview import prepare
from blurring.thumbnails import thumbnail
from moderator.domain import FilterSpec, Item, Reveal
from moderator.ingest import import_paths
from moderator.thumbnails import THUMBS_DIR, ThumbnailService, disk_name, filter_key
from storage import items as items_repo
from storage.store import Store
from storage.thumb_cache import ThumbCache
from tests.conftest import photo, write_image
from tests.desk_helpers import saturation, sharpness, sharpness_at

GRAY = 6  # most channel spread a gray pixel may have (these colour photos have > 100)
BLURRED = 0.05  # most sharpness a thumbnail may keep, as a share of the unfiltered picture's
SIZE = 160
NO_FILTER = FilterSpec(blur=0, grayscale=False, reveal=Reveal.FULL)  # what a careless caller might ask
VIDEO_SIZE = (640, 360)
STILLS = {"astronaut.jpg": "astronaut", "coffee.png": "coffee", "chelsea.jpg": "chelsea"}


def write_gif(path: Path, names: list[str]) -> Path:
    frames = [Image.fromarray(cv2.resize(photo(n), (320, 240), interpolation=cv2.INTER_AREA)) for n in names]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=200, loop=0)
    return path


def write_video(path: Path, names: list[str], fps: int = 10, frames_per_scene: int = 10) -> Path:
    """An MPEG-4 clip of still scenes, written by cv2.VideoWriter (as tests/test_painted_pixels.py does)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, VIDEO_SIZE)
    for name in names:
        frame = cv2.cvtColor(cv2.resize(photo(name), VIDEO_SIZE, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
        for _ in range(frames_per_scene):
            writer.write(frame)
    writer.release()
    return path


def build(store: Store, work: Path) -> None:
    for file, name in STILLS.items():
        write_image(work / file, photo(name))
    write_gif(work / "anim.gif", ["chelsea", "astronaut", "coffee"])
    write_video(work / "clip.mp4", ["coffee", "astronaut", "chelsea"])
    big = cv2.resize(photo("astronaut"), (4000, 3000), interpolation=cv2.INTER_NEAREST)
    write_image(work / "big.jpg", big)  # 12 MP, hard edges everywhere
    write_image(work / "locked.jpg", photo("rocket"))
    (work / "m.jsonl").write_text(json.dumps({"path": "locked.jpg", "category": "csam_suspected"}) + "\n")
    files = [work / f for f in (*STILLS, "anim.gif", "clip.mp4", "big.jpg")]
    report = import_paths(store, [*files, work / "m.jsonl"], "tester")
    assert not report.skipped, report.skipped


@pytest.fixture
def store(store_templates, tmp_path):
    s = store_templates.copy("thumbnails", build, tmp_path / "data")
    yield s
    s.close()


def items_by_name(store: Store) -> dict[str, Item]:
    return {i.source_name: i for i in items_repo.queue(store.db)}


def unfiltered(item: Item) -> np.ndarray:
    """The item's picture as the thumbnail shows it, without any filter: the first frame of an
    animation, the thumbnail's frame of a video (every scene of the clip is a colour photo)."""
    if item.kind.value == "video":
        return cv2.resize(photo("astronaut"), VIDEO_SIZE, interpolation=cv2.INTER_AREA)
    with Image.open(item.media_path) as im:
        return np.asarray(im.convert("RGB"))


def assert_filtered(thumb: np.ndarray, source: np.ndarray, size: int = SIZE) -> None:
    assert thumb.dtype == np.uint8 and thumb.ndim == 3 and thumb.shape[2] == 3
    assert max(thumb.shape[:2]) == size
    assert saturation(source).max() > 100, "the source must be colourful for this check to mean anything"
    assert saturation(thumb).max() <= GRAY
    assert sharpness(thumb) < BLURRED * sharpness_at(source, thumb.shape)


MEDIA = ("astronaut.jpg", "coffee.png", "anim.gif", "clip.mp4", "big.jpg")


@pytest.mark.parametrize("name", MEDIA)
@pytest.mark.parametrize("spec", [FilterSpec(), NO_FILTER], ids=["default", "no-filter-asked"])
def test_every_thumbnail_handed_out_is_gray_and_blurred_fresh_from_memory_and_from_disk(store, policy, name, spec):
    item = items_by_name(store)[name]
    source = unfiltered(item)
    service = ThumbnailService(store, policy)
    assert service.cached(item, spec, SIZE) is None
    fresh = service.make(item, spec, SIZE)
    assert_filtered(fresh, source)
    from_memory = service.cached(item, spec, SIZE)
    assert from_memory is fresh and service.make(item, spec, SIZE) is fresh
    from_disk = ThumbnailService(store, policy).make(item, spec, SIZE)  # a new desk: empty memory
    assert_filtered(from_disk, source)
    np.testing.assert_array_equal(from_disk, fresh)


def test_the_checks_can_fail_an_unfiltered_picture(store):
    source = unfiltered(items_by_name(store)["astronaut.jpg"])
    raw = cv2.resize(source, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    with pytest.raises(AssertionError):
        assert_filtered(raw, source)
    gray_only = cv2.cvtColor(cv2.cvtColor(raw, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    with pytest.raises(AssertionError):  # gray is not enough: detail must go too
        assert_filtered(gray_only, source)


@pytest.mark.parametrize("size", [16, 96, 160, 256])
def test_a_thumbnail_is_the_viewers_filtered_picture_at_that_size(store, policy, size):
    """Same decode, same filter, blur relative to the size shown: the viewer's own pipeline
    (blurring.preview.prepare) fitted in a size x size box gives the very same pixels."""
    item = items_by_name(store)["astronaut.jpg"]
    for spec in (FilterSpec(), FilterSpec(blur=5, pixelate=2), FilterSpec(style="drawing")):
        thumb = ThumbnailService(store, policy).make(item, spec, size)
        viewer = prepare(item.media_path, ThumbnailService(store, policy).spec_for(item, spec), (size, size)).filtered
        np.testing.assert_array_equal(thumb[..., 0], viewer)


def test_a_small_picture_is_scaled_up_after_the_filter(store, policy):
    item = items_by_name(store)["coffee.png"]  # 600 x 400
    thumb = ThumbnailService(store, policy).make(item, FilterSpec(), 1024)
    assert thumb.shape == (683, 1024, 3)
    assert_filtered(thumb, unfiltered(item), 1024)


@pytest.mark.parametrize("spec", [NO_FILTER, FilterSpec(blur=1), FilterSpec(blur=6, grayscale=True)])
def test_suspected_csam_gets_blur_6_and_gray_whatever_spec_is_asked(store, policy, spec):
    item = items_by_name(store)["locked.jpg"]
    assert item.category == "csam_suspected"
    service = ThumbnailService(store, policy)
    made = service.spec_for(item, spec)
    assert made.blur == 6 and made.grayscale and made.reveal is Reveal.NONE
    thumb = service.make(item, spec, SIZE)
    expected = thumbnail(item.media_path, FilterSpec(blur=6, grayscale=True), SIZE, kind=item.kind)
    np.testing.assert_array_equal(thumb, expected)
    assert_filtered(thumb, unfiltered(item))
    # and a lighter blur would have looked different: the check above is not vacuous
    lighter = thumbnail(item.media_path, FilterSpec(blur=3), SIZE, kind=item.kind)
    assert not np.array_equal(lighter, expected)


def test_a_12_megapixel_jpeg_is_never_decoded_at_full_size(store, policy):
    item = items_by_name(store)["big.jpg"]
    assert item.width * item.height == 12_000_000
    service = ThumbnailService(store, policy)
    tracemalloc.start()
    try:
        thumb = service.make(item, FilterSpec(blur=1), SIZE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(thumb.shape[:2]) == SIZE
    assert peak < 4_000_000, f"{peak} bytes traced: a full decode of 12 MP holds 12-36 MB"


def thumb_files(store: Store) -> list[Path]:
    return sorted(p for p in (store.data_dir / THUMBS_DIR).rglob("*") if p.is_file())


def test_disk_cache_is_private_and_its_files_decode_to_filtered_pixels_only(store, policy):
    service = ThumbnailService(store, policy)
    items = items_by_name(store)
    for name in MEDIA:
        service.make(items[name], NO_FILTER, SIZE)
    files = thumb_files(store)
    assert len(files) == len(MEDIA)
    root = store.data_dir / THUMBS_DIR
    for folder in [root, *{f.parent for f in files}]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    by_sha = {i.sha256: i for i in items.values()}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        pixels = cv2.imread(str(f), cv2.IMREAD_COLOR)  # any image tool reads it: a PNG (+ a digest after IEND)
        assert pixels is not None
        assert_filtered(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB), unfiltered(by_sha[f.name[:64]]))


def damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def damage_unfiltered(path: Path) -> None:
    """A whole, unfiltered PNG of the right size put in its place, 32 bytes that are not its digest after it."""
    raw = cv2.resize(photo("astronaut"), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    png = cv2.imencode(".png", cv2.cvtColor(raw, cv2.COLOR_RGB2BGR))[1].tobytes()
    path.write_bytes(png + bytes(32))


def damage_empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip, damage_unfiltered, damage_empty])
def test_a_damaged_cache_file_is_never_shown_and_is_made_again(store, policy, damage):
    item = items_by_name(store)["astronaut.jpg"]
    good = ThumbnailService(store, policy).make(item, FilterSpec(), SIZE)
    (path,) = thumb_files(store)
    damage(path)
    again = ThumbnailService(store, policy).make(item, FilterSpec(), SIZE)
    np.testing.assert_array_equal(again, good)
    assert_filtered(again, unfiltered(item))
    reread = ThumbCache(store.data_dir / THUMBS_DIR).get(path.stem, SIZE)  # the file was written anew
    np.testing.assert_array_equal(reread, good)


def test_a_cache_file_of_the_wrong_size_is_a_miss(store, policy):
    item = items_by_name(store)["astronaut.jpg"]
    service = ThumbnailService(store, policy)
    small = service.make(item, FilterSpec(), 96)
    cache = ThumbCache(store.data_dir / THUMBS_DIR)
    key = disk_name((item.sha256, filter_key(service.spec_for(item, FilterSpec())), SIZE))
    shutil.copy(thumb_files(store)[0], cache.path_for(key).parent / f"{key}.png")  # a 96 px file under a 160 px name
    assert cache.get(key, SIZE) is None
    assert max(service.make(item, FilterSpec(), SIZE).shape[:2]) == SIZE
    assert max(small.shape[:2]) == 96


def gray_thumb(seed: int, side: int = 64) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)
    return cv2.cvtColor(noise, cv2.COLOR_GRAY2RGB)  # noise: PNG cannot shrink it, sizes are known


def test_the_disk_cache_stays_under_its_cap_evicting_the_least_recently_used(tmp_path):
    probe = ThumbCache(tmp_path / "probe")
    probe.put("aa-probe", gray_thumb(0))
    one = probe.total_bytes
    cache = ThumbCache(tmp_path / "thumbs", max_bytes=10 * one)
    for n in range(10):
        cache.put(f"{n:02d}-key", gray_thumb(n))
    assert cache.get("00-key", 64) is not None  # used now: the newest
    cache.put("10-key", gray_thumb(10))  # past the cap: trimmed to 90 % of it
    on_disk = sum(p.stat().st_size for p in (tmp_path / "thumbs").rglob("*.png"))
    assert on_disk == cache.total_bytes <= 10 * one
    assert cache.get("00-key", 64) is not None and cache.get("10-key", 64) is not None
    assert cache.get("01-key", 64) is None and cache.get("02-key", 64) is None  # the least recently used
    smaller = ThumbCache(tmp_path / "thumbs", max_bytes=3 * one)  # the next run, with a smaller cap
    assert sum(p.stat().st_size for p in (tmp_path / "thumbs").rglob("*.png")) <= 3 * one
    assert smaller.total_bytes <= 3 * one


def test_the_memory_cache_is_capped_by_bytes_least_recently_used_first(store, policy):
    items = items_by_name(store)
    one = SIZE * SIZE * 3  # the astronaut's square thumbnail
    service = ThumbnailService(store, policy, memory_bytes=2 * one)
    specs = [FilterSpec(blur=b) for b in (3, 4, 5)]
    first, second = (service.make(items["astronaut.jpg"], s, SIZE) for s in specs[:2])
    assert first.nbytes == one and not first.flags.writeable
    assert service.cached(items["astronaut.jpg"], specs[0], SIZE) is first  # touched: now the newest
    service.make(items["astronaut.jpg"], specs[2], SIZE)
    assert service.cached(items["astronaut.jpg"], specs[1], SIZE) is None
    assert service.cached(items["astronaut.jpg"], specs[0], SIZE) is first
    assert service.cached(items["astronaut.jpg"], specs[2], SIZE) is not None


def test_size_and_filter_are_part_of_the_key(store, policy):
    item = items_by_name(store)["astronaut.jpg"]
    service = ThumbnailService(store, policy)
    service.make(item, FilterSpec(blur=3), SIZE)
    assert service.cached(item, FilterSpec(blur=3), 96) is None
    assert service.cached(item, FilterSpec(blur=5), SIZE) is None
    assert service.cached(item, FilterSpec(blur=3, reveal=Reveal.PEEK), SIZE) is not None  # same pixels
    for bad in (0, 15, 1025, 160.0):
        with pytest.raises(ValueError, match="thumbnail size"):
            service.make(item, FilterSpec(), bad)


def test_a_bad_media_file_raises_media_error_and_caches_nothing(store, policy):
    item = items_by_name(store)["chelsea.jpg"]
    data = Path(item.media_path).read_bytes()
    os.chmod(item.media_path, 0o600)
    Path(item.media_path).write_bytes(data[: len(data) // 3])
    service = ThumbnailService(store, policy)
    with pytest.raises(MediaError):
        service.make(item, FilterSpec(), SIZE)
    assert service.cached(item, FilterSpec(), SIZE) is None
    assert thumb_files(store) == []


def test_a_read_only_store_makes_thumbnails_without_writing(store, policy):
    data_dir = store.data_dir
    store.close()
    with Store(data_dir, readonly=True) as readonly:
        item = items_by_name(readonly)["astronaut.jpg"]
        service = ThumbnailService(readonly, policy)
        assert service.disk is None
        assert_filtered(service.make(item, FilterSpec(), SIZE), unfiltered(item))
    assert not (data_dir / THUMBS_DIR).exists()


def test_workers_making_thumbnails_at_once_agree_and_leave_one_file_each(store, policy):
    items = items_by_name(store)
    service = ThumbnailService(store, policy)
    jobs = [items[n] for n in MEDIA] * 4
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda item: service.make(item, FilterSpec(), SIZE), jobs))
    for item, thumb in zip(jobs, made, strict=True):
        np.testing.assert_array_equal(thumb, service.cached(item, FilterSpec(), SIZE))
        assert_filtered(thumb, unfiltered(item))
    assert len(thumb_files(store)) == len(MEDIA)
    assert service.disk.total_bytes == sum(p.stat().st_size for p in thumb_files(store))


def test_a_temp_file_left_by_a_killed_write_is_removed_when_old(tmp_path):
    cache = ThumbCache(tmp_path / "thumbs")
    cache.put("ab-key", gray_thumb(1))
    shard = cache.path_for("ab-key").parent
    old, young = shard / ".ab-key.png.old", shard / ".ab-key.png.young"
    old.write_bytes(b"half a file")
    young.write_bytes(b"being written now")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    reopened = ThumbCache(tmp_path / "thumbs")
    assert not old.exists() and young.exists()
    assert reopened.get("ab-key", 64) is not None and reopened.total_bytes == cache.total_bytes
