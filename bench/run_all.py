"""`make bench`: run every bench N times, store each run's figures, render docs/PERFORMANCE.md.

    .venv/bin/python bench/run_all.py --runs 3            # everything (what `make bench` does)
    .venv/bin/python bench/run_all.py --only index,preview  # re-run these, keep the others' runs
    .venv/bin/python bench/run_all.py --render            # only re-render from the stored runs
    .venv/bin/python bench/run_all.py --append            # add 3 runs to the stored ones (another machine)
    .venv/bin/python bench/run_all.py --check --runs 1  # run, store nothing in docs/, compare (bench/reproduce.py)
    .venv/bin/python bench/run_all.py --list

Each run is a subprocess with MODERATOR_BENCH_FIGURES naming a fresh file (bench/figures.py appends
to it); its output is kept in bench/out/logs/. The raw values of every run, with when, how long, the
exit code, the load average before and after and the commit, go to docs/performance-runs.json.
A bench that fails is reported with the tail of its stderr; the others still run; the exit is
non-zero at the end. The document is rendered by bench/render.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a plain script

from bench.figures import ENV  # noqa: E402
from bench.render import RenderError, render_document  # noqa: E402
from bench.reproduce import NEW as CHECK_RESULTS  # noqa: E402
from bench.reproduce import REPORT as CHECK_REPORT  # noqa: E402
from bench.reproduce import check  # noqa: E402

RESULTS = ROOT / "docs" / "performance-runs.json"
DOC = ROOT / "docs" / "PERFORMANCE.md"
SECTIONS = ROOT / "bench" / "sections"
LOGS = ROOT / "bench" / "out" / "logs"
XVFB = ("xvfb-run", "-a", "env", "QT_QPA_PLATFORM=xcb")
OFFSCREEN = ("env", "QT_QPA_PLATFORM=offscreen")
PLAIN: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bench:
    name: str
    argv: tuple[str, ...]  # after the interpreter: the script and its options
    wrapper: tuple[str, ...] = PLAIN
    timeout_s: int = 900


# name, script + options, wrapper, timeout (s): 4-10x one run measured 2026-12-02 at load 3-12 (index_big:
# 631 s building its 10M store, 449 s reusing it; hashing 233 s; import 137 s; hub 124 s; the rest under 2 min)
REGISTRY = [Bench(*row) for row in [
    ("keypress", ("bench/bench_keypress.py",), XVFB, 600),
    ("preview", ("bench/bench_preview.py",), PLAIN, 300),
    ("hashing", ("bench/bench_hashing.py", "--sizes", "1280"), PLAIN, 1200),
    ("import", ("bench/bench_import.py",), PLAIN, 900),
    ("index", ("bench/bench_index.py",), PLAIN, 600),
    ("index_big", ("bench/bench_index.py", "--big", "--cache", "bench/out/index_big"), PLAIN, 2400),
    ("index_switch", ("bench/bench_index.py", "--switch"), PLAIN, 300),
    ("bank_import", ("bench/bench_bank_import.py",), PLAIN, 900),
    ("startup", ("bench/bench_startup.py",), PLAIN, 600),
    ("queue_changes", ("bench/bench_queue_changes.py",), OFFSCREEN, 300),
    ("queue_pins", ("bench/bench_queue_pins.py", "--runs", "15"), PLAIN, 300),
    ("batch", ("bench/bench_batch.py", "--runs", "7"), PLAIN, 300),
    ("grid", ("bench/bench_grid.py",), OFFSCREEN, 600),
    ("grid_core", ("bench/bench_grid_core.py",), PLAIN, 300),
    ("hub", ("bench/bench_hub.py",), PLAIN, 900),
    ("report", ("bench/bench_report.py",), PLAIN, 300),
]]


def command_of(bench: Bench) -> str:
    """The command a person types to run this bench by hand."""
    return " ".join([*bench.wrapper, ".venv/bin/python", *bench.argv])


def git(*args: str, root: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "?"


def code_differs(root: Path = ROOT) -> bool:
    """Whether the tracked files differ from the commit where it matters to a figure (a run is then
    "+dirty"): not the stored runs and the document (this script's output), nor any Markdown (the
    section templates, README, docs: prose, never measured). True when git cannot tell."""
    outputs = [f":(exclude){p.relative_to(root)}" for p in (RESULTS, DOC) if p.is_relative_to(root)]
    return bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude,glob)**/*.md", *outputs,
                    root=root))  # "?" when git failed


def version(*dists: str) -> str:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open_lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or "?")
    mem_kb = next((int(line.split()[1]) for line in open_lines("/proc/meminfo")
                   if line.startswith("MemTotal")), 0)
    boot = next(iter(open_lines("/proc/sys/kernel/random/boot_id")), "?")
    return {
        "cores": os.cpu_count(), "cpu": cpu, "memory": f"{mem_kb / 2**20:.0f} GB" if mem_kb else "?",
        "boot_id": boot,  # one VM boot: runs with different ids ran on different machines (or boots)
        "damon": damon_actions(),
        "versions": {
            "Python": platform.python_version(), "PySide6": version("PySide6_Essentials", "PySide6"),
            "OpenCV": version("opencv-python-headless", "opencv-python", "opencv-contrib-python"),
            "numpy": version("numpy"), "Pillow": version("Pillow", "pillow"),
            "faiss": version("faiss-cpu"),
        },
    }


def damon_actions(root: Path = Path("/sys/kernel/mm/damon/admin/kdamonds")) -> list[str]:
    """The actions of the kernel's running DAMON schemes, e.g. ["pageout"]: with one, memory a process
    leaves alone for a second or so comes back slowly (docs/PERFORMANCE.md, the index section)."""
    actions = []
    for kdamond in sorted(root.glob("[0-9]*")):
        if open_lines(str(kdamond / "state"))[:1] == ["on"]:
            actions += [line for f in sorted(kdamond.glob("contexts/*/schemes/*/action")) for line in open_lines(str(f))]
    return sorted(set(actions))


def open_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def pressure() -> dict[str, float]:
    """Seconds tasks have stalled since boot (Linux PSI, /proc/pressure): "cpu_some", "io_some",
    "io_full", "memory_some"...; {} where the kernel has none. A run's difference says how long it
    waited for a core, the disk or memory: a VM whose disk is throttled shows it here, not in the load."""
    stalls = {}
    for resource in ("cpu", "io", "memory"):
        for line in open_lines(f"/proc/pressure/{resource}"):
            kind, *fields = line.split()
            total = next((f.split("=", 1)[1] for f in fields if f.startswith("total=")), None)
            if total is not None:
                stalls[f"{resource}_{kind}"] = int(total) / 1e6  # microseconds
    return stalls


def stalled(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - v, 2) for k, v in before.items() if k in after}


def read_figures(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_process(argv: list[str], env: dict, log: Path, timeout_s: int) -> tuple[int | None, str]:
    """(exit code or None on timeout, the tail of stderr); the whole group is killed on timeout."""
    with log.open("w", encoding="utf-8") as out, tempfile.TemporaryFile("w+") as err:
        out.write("$ " + " ".join(argv) + "\n")
        out.flush()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        err.seek(0)
        stderr = err.read()
        out.write("\n--- stderr ---\n" + stderr)
    return code, "\n".join(stderr.splitlines()[-15:])


def run_once(bench: Bench, index: int, info: dict, log_dir: Path | None = None) -> dict:
    """One run of one bench: its figures and how it ran (its output in log_dir, default LOGS)."""
    log_dir = log_dir or LOGS
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{bench.name}.{index}.log"
    with tempfile.NamedTemporaryFile(prefix=f"figures-{bench.name}-", suffix=".jsonl", delete=False) as f:
        figures_path = Path(f.name)
    env = {**os.environ, ENV: str(figures_path)}
    argv = [*bench.wrapper, sys.executable, *bench.argv]
    started, load_before, stalls, t0 = datetime.now(UTC), list(os.getloadavg()), pressure(), time.monotonic()
    code, tail = run_process(argv, env, log, bench.timeout_s)
    duration = time.monotonic() - t0
    run = {
        "started": started.isoformat(timespec="seconds"), "duration_s": round(duration, 1),
        "exit_code": code, "timed_out": code is None,
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "stalled_s": stalled(stalls, pressure()),  # PSI: seconds some (or all) tasks waited, during the run
        "commit": info["commit"], "dirty": info["dirty"], "machine": info["machine"],
        "log": str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log), "figures": read_figures(figures_path),
    }
    figures_path.unlink(missing_ok=True)
    if code != 0:
        run["stderr_tail"] = tail
    return run


def run_bench(bench: Bench, runs: int, info: dict, log_dir: Path | None = None) -> tuple[list[dict], bool]:
    """All runs of one bench, printed as they go; (runs, every run passed)."""
    done, ok = [], True
    for i in range(1, runs + 1):
        print(f"[{bench.name} {i}/{runs}] {command_of(bench)}  load {os.getloadavg()[0]:.2f}", flush=True)
        run = run_once(bench, i, info, log_dir)
        done.append(run)
        status = "timed out" if run["timed_out"] else f"exit {run['exit_code']}"
        print(f"    {status}, {run['duration_s']:.0f} s, {len(run['figures'])} figures, log {run['log']}",
              flush=True)
        if run["exit_code"] != 0:
            ok = False
            print(f"    FAILED: {bench.name} run {i}; stderr tail:\n" + run.get("stderr_tail", ""), flush=True)
    return done, ok


def load_results(path: Path) -> dict:
    if not path.exists():
        return {"benches": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def save_results(path: Path, results: dict) -> None:
    order = {b.name: i for i, b in enumerate(REGISTRY)}
    results["benches"] = dict(sorted(results["benches"].items(), key=lambda kv: order.get(kv[0], 99)))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def render(results: dict, out: Path, sections: Path = SECTIONS) -> bool:
    try:
        text = render_document(results, sections)
    except RenderError as exc:
        print(f"render failed, {out} left as it was:\n{exc}", file=sys.stderr)
        return False
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return True


def kept_runs(results: dict, bench: Bench, append: bool) -> list[dict]:
    """With --append, the stored runs of `bench` when they ran its present command; otherwise none."""
    stored = results["benches"].get(bench.name, {})
    if not append or not stored.get("runs"):
        return []
    if stored.get("command") != command_of(bench):
        print(f"    {bench.name}: the stored runs ran `{stored.get('command')}`, not this command: replaced",
              flush=True)
        return []
    return stored["runs"]


def pick(only: str | None) -> list[Bench]:
    if not only:
        return REGISTRY
    names = [n.strip() for n in only.split(",") if n.strip()]
    known = {b.name: b for b in REGISTRY}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"run_all: unknown bench {', '.join(unknown)} (--list names them)")
    return [known[n] for n in names]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Run the benches, store their figures, render the doc.")
    ap.add_argument("--runs", type=int, default=3, help="runs of each bench (default 3)")
    ap.add_argument("--only", help="comma-separated bench names to re-run; the others' runs are kept")
    ap.add_argument("--render", action="store_true", help="only re-render from the stored runs")
    ap.add_argument("--append", action="store_true",
                    help="add the new runs to each bench's stored runs instead of replacing them: ranges "
                         "then span every stored run (another machine, another day)")
    ap.add_argument("--check", action="store_true",
                    help="store the new runs in bench/out/check-runs.json instead (docs/ untouched) and "
                         "compare each figure the document quotes with its stored range (bench/reproduce.py)")
    ap.add_argument("--list", action="store_true", help="list the benches and their commands")
    ap.add_argument("--results", type=Path, default=RESULTS, help="stored runs (JSON)")
    ap.add_argument("--out", type=Path, default=DOC, help="the rendered document")
    ap.add_argument("--sections", type=Path, default=SECTIONS, help="the section templates")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.check and (args.render or args.append):
        ap.error("--check runs benches and stores them apart: not with --render or --append")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for b in REGISTRY:
            print(f"{b.name:14} timeout {b.timeout_s:5d} s  {command_of(b)}")
        return 0
    benches = [] if args.render else pick(args.only)
    results_path = CHECK_RESULTS if args.check else args.results
    results = load_results(results_path)
    info = {"commit": git("rev-parse", "HEAD"), "dirty": code_differs(), "machine": machine()}
    failed = []
    for bench in benches:
        runs, ok = run_bench(bench, args.runs, info)
        results["benches"][bench.name] = {"command": command_of(bench),
                                          "runs": kept_runs(results, bench, args.append) + runs}
        save_results(results_path, results)  # after each bench: an interrupted make bench keeps what ran
        if not ok:
            failed.append(bench.name)
    if args.check:
        reproduced = check(args.results, results_path, args.sections, CHECK_REPORT)
        if failed:
            print(f"run_all: failed: {', '.join(failed)}", file=sys.stderr)
        return 0 if reproduced == 0 and not failed else 1
    rendered = render(results, args.out, args.sections)
    if failed:
        print(f"run_all: failed: {', '.join(failed)}", file=sys.stderr)
    return 0 if rendered and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
