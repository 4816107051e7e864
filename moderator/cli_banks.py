"""Hash-bank commands: hash files, import/export/list banks, add an item to a bank, match, reopen."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    actor_of,
    check_out_path,
    command,
    load_policy_of,
    one_line,
    open_store,
    print_json,
    shown,
)

FORMAT_CHOICES = ("auto", "csv", "te-lines", "te-csv")
SIGNAL_NAMES = ("pdq", "phash", "md5", "sha256")


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    h = sub.add_parser("hash", parents=[common], help="print perceptual and file hashes of images and videos")
    h.add_argument("files", nargs="+", metavar="FILE")
    h.add_argument("--signal", default="pdq", help="comma-separated: pdq, phash, md5, sha256 (default pdq)")
    h.add_argument("--json", action="store_true")
    bank = sub.add_parser("bank", parents=[common], help="hash banks: import, export, list, create, add")
    bsub = bank.add_subparsers(dest="bank_command", required=True, parser_class=type(common))
    _bank_parsers(bsub, common)
    m = sub.add_parser("match", parents=[common], help="match files against the banks, or every unhashed item")
    m.add_argument("files", nargs="*", metavar="FILE", help="files to look up (nothing is stored)")
    m.add_argument("--pending", action="store_true", help="hash, match and route every unhashed item in the store")
    m.add_argument("--limit", type=int, default=None, help="with --pending: at most this many items")
    m.add_argument("--json", action="store_true")
    r = sub.add_parser("reopen", parents=[common], help="undo a bank's decision and put the item back in the queue")
    r.add_argument("item_id", metavar="ITEM_ID")
    r.add_argument("--json", action="store_true")


def _bank_parsers(bsub, common: argparse.ArgumentParser) -> None:
    imp = bsub.add_parser("import", parents=[common], help="add a bank file's entries (creating the bank)")
    imp.add_argument("file", metavar="FILE")
    _bank_settings(imp)
    imp.add_argument("--format", choices=FORMAT_CHOICES, default="auto")
    imp.add_argument("--json", action="store_true")
    exp = bsub.add_parser("export", parents=[common], help="write a bank's entries")
    exp.add_argument("name", metavar="NAME")
    exp.add_argument("--format", choices=FORMAT_CHOICES[1:], default="csv")
    exp.add_argument("--out", help="file to write (default: standard output)")
    exp.add_argument("--hashes-only", action="store_true", help="allow te-lines to drop labels and sources")
    lst = bsub.add_parser("list", parents=[common], help="banks with their settings and entry counts")
    lst.add_argument("--json", action="store_true")
    cre = bsub.add_parser("create", parents=[common], help="create an empty bank (to add items to)")
    cre.add_argument("--description", default=None)
    _bank_settings(cre, positional=True)
    add = bsub.add_parser("add", parents=[common], help="add an item's hashes to a bank")
    add.add_argument("item_id", metavar="ITEM_ID")
    add.add_argument("--bank", required=True, metavar="NAME")
    add.add_argument("--label", default=None, help="default: the label of the item's standing decision")
    add.add_argument("--source", default=None, help="default: item:<ITEM_ID>")
    add.add_argument("--json", action="store_true")


def _bank_settings(p: argparse.ArgumentParser, positional: bool = False) -> None:
    if positional:
        p.add_argument("name", metavar="NAME")
    else:
        p.add_argument("--name", required=True)
    p.add_argument("--kind", choices=("block", "allow"), default=None, help="required for a new bank")
    p.add_argument("--signal-type", choices=SIGNAL_NAMES, default=None,
                   help="the bank's signal type, also for bare hashes in te-lines (default: the file's, else pdq)")
    p.add_argument("--threshold", type=int, default=None, help="max distance that matches (default: the signal's)")
    p.add_argument("--action", choices=("escalate", "remove", "allow", "flag"), default=None,
                   help="what a match does (default: escalate for block, allow for allow banks)")


def _bank_errors():
    from moderator.bank_formats import BankFormatError
    from moderator.banks import BankError
    from moderator.matching import MatchError

    return BankError, BankFormatError, MatchError


def _service(args, store):
    from moderator.banks import BankService

    return BankService(store, load_policy_of(args), actor_of(args))


# -- hash ------------------------------------------------------------------------------------------
@command("hash")
def _hash(args: argparse.Namespace) -> int:
    from blurring.errors import MediaError

    names = _signal_list(args.signal)
    records, bad = [], 0
    for path in args.files:
        try:
            records += _hash_records(Path(path), names)
        except (MediaError, OSError) as exc:
            bad += 1
            print(f"moderator: {shown(path)}: {one_line(str(getattr(exc, 'reason', None) or exc))}", file=sys.stderr)
    if args.json:
        print_json(records)
    else:
        for r in records:
            _print_hash(r)
    return EXIT_OK if len(args.files) > bad else EXIT_NOTHING


def _signal_list(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SIGNAL_NAMES]
    if unknown or not names:
        raise UsageError(f"unknown signal {(unknown or [text])[0]!r} (known: {', '.join(SIGNAL_NAMES)})")
    return list(dict.fromkeys(names))


def _hash_records(path: Path, names: list[str]) -> list[dict]:
    """One record per requested signal; a video's PDQ is its list of frame hashes."""
    from blurring.sniff import sniff_file
    from moderator.domain import MediaKind
    from moderator.signals import get_signal, hash_image_file
    from moderator.video_hash import hash_video

    kind, _mime = sniff_file(path)
    pixel = [n for n in names if n in ("pdq", "phash")]
    found = {r.signal_type: r for r in hash_image_file(path, tuple(pixel))} if kind is MediaKind.IMAGE else {}
    out = []
    for name in names:
        if name in found:
            r = found[name]
            out.append({"path": str(path), "signal_type": name, "hash": r.hex, "quality": r.quality, "usable": r.usable})
        elif name == "pdq" and kind is MediaKind.VIDEO:
            frames = [{"index": f.index, "time_s": f.time_s, "hash": f.hex, "quality": f.quality} for f in hash_video(path)]
            out.append({"path": str(path), "signal_type": name, "hash": None, "quality": None, "frames": frames})
        elif name not in pixel:
            out.append({"path": str(path), "signal_type": name, "hash": get_signal(name).hash_file(path).hex,
                        "quality": None, "usable": True})
    return out


def _print_hash(r: dict) -> None:
    for f in r.get("frames", [r]):
        where = f"{shown(r['path'])}@{f['time_s']}s" if "time_s" in f else shown(r["path"])
        quality = f"q{f['quality']}" if f.get("quality") is not None else "-"
        unused = "  (quality < 50: not matched)" if f.get("quality") is not None and f["quality"] < 50 else ""
        print(f"{f['hash']}  {r['signal_type']}  {quality}  {where}{unused}")


# -- bank ------------------------------------------------------------------------------------------
@command("bank")
def _bank(args: argparse.Namespace) -> int:
    handler = {"import": _bank_import, "export": _bank_export, "list": _bank_list, "create": _bank_create,
               "add": _bank_add}[args.bank_command]
    if args.bank_command == "export" and args.out:
        check_out_path(args.out)
    with open_store(args, create=args.bank_command in ("import", "create"),
                    readonly=args.bank_command in ("export", "list")) as store:
        try:
            return handler(args, _service(args, store))
        except _bank_errors() as exc:
            raise UsageError(str(exc)) from None


def _bank_import(args, service) -> int:
    r = service.import_bank(args.file, args.name, args.kind, args.signal_type, args.threshold, args.action, args.format)
    if args.json:
        print_json({"bank": _bank_json(r.bank), "created": r.created, "rows": r.rows, "added": r.added,
                    "duplicates": r.duplicates})
    else:
        made = "created, " if r.created else ""
        print(f"bank {r.bank.name}: {made}added {r.added} of {r.rows} rows, {r.duplicates} duplicates skipped "
              f"({r.bank.entries} entries)")
    return EXIT_OK


def _bank_export(args, service) -> int:
    if args.out:
        count = service.export_bank(args.name, args.out, args.format, args.hashes_only)
        print(f"wrote {count} entries to {shown(args.out)}", file=sys.stderr)
        return EXIT_OK
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bank"
        service.export_bank(args.name, path, args.format, args.hashes_only)
        sys.stdout.write(path.read_text(encoding="utf-8"))
    return EXIT_OK


def _bank_list(args, service) -> int:
    banks = service.list_banks()
    if args.json:
        print_json([_bank_json(b) for b in banks])
        return EXIT_OK
    for b in banks:
        print(f"{b.name:24} {b.kind.value:5} {b.signal_type:6} <= {b.threshold:<3} {b.action.value:8} {b.entries} entries")
    print(f"{len(banks)} banks")
    return EXIT_OK


def _bank_create(args, service) -> int:
    bank = service.create_bank(args.name, args.kind, args.signal_type or "pdq", args.threshold, args.action,
                               args.description)
    print(f"bank {bank.name}: created ({bank.kind.value}, {bank.signal_type} <= {bank.threshold}, {bank.action.value})")
    return EXIT_OK


def _bank_add(args, service) -> int:
    r = service.add_to_bank(args.item_id, args.bank, args.label, args.source)
    if args.json:
        print_json(asdict(r))
    else:
        print(f"bank {r.bank}: added {r.added} of {len(r.hashes)} hashes of item {args.item_id}"
              + (f" as {r.label}" if r.label else ""))
    return EXIT_OK


def _bank_json(b) -> dict:
    return {**asdict(b), "kind": b.kind.value, "action": b.action.value}


# -- match and reopen -----------------------------------------------------------------------------
@command("match")
def _match(args: argparse.Namespace) -> int:
    if args.pending == bool(args.files):
        raise UsageError("give FILE... to look up, or --pending to match the store's unhashed items")
    if args.limit is not None and (args.limit < 0 or not args.pending):
        raise UsageError("--limit needs --pending and must be 0 or more")
    with open_store(args, create=False, readonly=not args.pending) as store:
        return _match_pending(args, store) if args.pending else _match_files(args, store)


def _match_files(args, store) -> int:
    from blurring.errors import MediaError
    from moderator.matching import Matcher

    matcher = Matcher(store, load_policy_of(args))
    results, bad = [], 0
    for path in args.files:
        try:
            results.append({"path": path, "matches": [asdict(m) for m in matcher.query_file(path)]})
        except (MediaError, OSError) as exc:
            bad += 1
            print(f"moderator: {shown(path)}: {one_line(str(getattr(exc, 'reason', None) or exc))}", file=sys.stderr)
    if args.json:
        print_json(results)
    for r in [] if args.json else results:
        if not r["matches"]:
            print(f"{shown(r['path'])}: no match")
        for m in r["matches"]:
            how = f" ({m['variant']})" if m["variant"] not in (None, "original") else ""
            print(f"{shown(r['path'])}: {shown(m['bank'])}  {shown(m['label'] or '-')}  {m['signal_type']} distance {m['distance']}{how}"
                  f"  entry {m['entry_id']} {m['entry_hash']}")
    return EXIT_OK if len(args.files) > bad else EXIT_NOTHING


def _match_pending(args, store) -> int:
    from moderator.matching import match_pending

    summary = match_pending(store, load_policy_of(args), limit=args.limit)
    if args.json:
        print_json({"hashed": summary.hashed, "matched": summary.matched, "outcomes": summary.outcomes,
                    "failed": [{"item_id": i, "reason": r} for i, r in summary.failed], "changed": summary.changed})
    else:
        for item_id, reason in summary.failed:
            print(f"failed {item_id}: {one_line(reason)}", file=sys.stderr)
        print(summary.text)
    return EXIT_OK


@command("reopen")
def _reopen(args: argparse.Namespace) -> int:
    from moderator.matching import MatchError, reopen

    with open_store(args, create=False) as store:
        try:
            undo = reopen(store, args.item_id, actor_of(args)).decision
        except MatchError as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        print_json({"item_id": args.item_id, "undo": undo.uuid, "supersedes": undo.supersedes})
    else:
        print(f"reopened {args.item_id}: undid decision {undo.supersedes}")
    return EXIT_OK
