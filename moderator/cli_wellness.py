"""Wellness commands: exposure reports, headless previews, per-user settings."""

from __future__ import annotations

import argparse
from pathlib import Path

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    actor_of,
    command,
    fail,
    load_policy_of,
    open_store,
    print_json,
)


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    expo = sub.add_parser("exposure", parents=[common], help="unfiltered exposure by day and category")
    expo.add_argument("--json", action="store_true")
    expo.add_argument("--all-actors", action="store_true", help="everyone's exposure, not only --actor's")
    p = sub.add_parser("preview", parents=[common], help="write what the desk would show as PNG")
    p.add_argument("file")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--blur", type=int, default=None, help="0 (off) … 6; default: the policy's for --category")
    p.add_argument("--grayscale", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--pixelate", type=int, default=0)
    p.add_argument("--style", choices=["drawing"], default=None)
    p.add_argument("--category", default=None, help="apply the policy's filter for this category")
    p.add_argument("--size", default="1920x1080", help="WxH to fit inside (default 1920x1080)")
    st = sub.add_parser("settings", parents=[common], help="show or change your per-user settings")
    st.add_argument("--set", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[])
    st.add_argument("--json", action="store_true")


@command("exposure")
def _exposure(args: argparse.Namespace) -> int:
    from moderator.wellness import exposure_summary

    with open_store(args, readonly=True) as store:
        rows = exposure_summary(store.db, None if args.all_actors else actor_of(args))
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        print(f"{r['day']}  {r['category'] or '-':16} {r['kind']:9} {r['ms'] / 1000:8.1f} s  "
              f"{r['events']} events, {r['items']} items, mean fraction {r['mean_fraction']}")
    total = sum(r["ms"] for r in rows)
    print(f"total {total / 1000:.1f} s")
    return EXIT_OK


@command("preview")
def _preview(args: argparse.Namespace) -> int:
    from blurring.errors import MediaError
    from blurring.preview import render_preview, to_png

    spec = _preview_spec(args)
    size = _parse_size(args.size)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: no such folder {out.parent}")
    if not Path(args.file).is_file():
        raise UsageError(f"no such file: {args.file}")
    try:
        image = render_preview(args.file, spec, size)
    except MediaError as exc:
        return fail(f"{args.file}: {exc.reason}", EXIT_NOTHING)
    to_png(image, out)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]}, blur {spec.blur}, "
          f"{'grayscale' if spec.grayscale else 'colour'}{', ' + spec.style if spec.style else ''})")
    return EXIT_OK


def _preview_spec(args: argparse.Namespace):
    from dataclasses import replace

    from moderator.domain import Reveal

    policy = load_policy_of(args)
    try:
        category = policy.check_category(args.category)
    except ValueError as exc:
        raise UsageError(f"--category: {exc}") from None
    spec = policy.filter_for(category)
    changes = {k: v for k, v in (("blur", args.blur), ("grayscale", args.grayscale)) if v is not None}
    if not 0 <= changes.get("blur", 0) <= 6 or not 0 <= args.pixelate <= 6:
        raise UsageError("--blur and --pixelate take 0..6")
    chosen = replace(spec, pixelate=args.pixelate, style=args.style or spec.style, **changes)
    if spec.reveal is Reveal.NONE and chosen.stricter(spec) != chosen:
        # The hard floor: no flag shows a never-reveal item (suspected CSAM) less filtered.
        raise UsageError(f"{category} is always shown at blur {spec.blur}, grayscale: "
                         "--blur/--no-grayscale cannot lower it")
    return chosen


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1920x1080, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise UsageError("--size must be between 16x16 and 8192x8192")
    return w, h


@command("settings")
def _settings(args: argparse.Namespace) -> int:
    import dataclasses

    from moderator.settings import load_settings, save_settings, settings_path, with_changes

    current = load_settings()
    if args.set:
        current = with_changes(current, args.set)  # all or nothing: one bad value changes nothing
        save_settings(current)
    values = dataclasses.asdict(current)
    if args.json:
        print_json({"path": str(settings_path()), **values})
    else:
        print(f"# {settings_path()}")
        for k, v in values.items():
            print(f"{k} = {v!r}")
    return EXIT_OK
