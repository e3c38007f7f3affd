"""Issue 23: installs, reruns and tests, each before and after, side by side in one run.

    python benchmarks/bench_speed.py install [--sessions torch jax tf tests]   # uv vs virtualenv (pip)
    python benchmarks/bench_speed.py rerun --python .nox/jax/bin/python --backend jax --select 'rnn/*'
    python benchmarks/bench_speed.py tests --python .nox/tests/bin/python tests/test_cli.py ...
    python benchmarks/bench_speed.py mainjob [--before-steps ...] [--after-steps ...] [-- NOX POSARGS]

- install: `nox --install-only -s S` from a fresh copy of the checkout, once with nox's uv backend and
  once with virtualenv (pip), each in an empty .nox; wall seconds per session.
- rerun: in a copy of the checkout, `harness run` four times into one results folder: cold (fills the
  artifact), warm forced (HARNESS_NO_REUSE=1), warm reused (nothing changed), incremental (one scenario
  module edited: a comment appended). Checks that the reused arrays are bit-identical to the run they
  came from, and that the incremental run reran exactly the edited module's scenarios.
- tests: the given test files with pytest-xdist (-n auto) and without (-p no:xdist), interleaved.
- mainjob: the issue's four figures through nox, as a new user runs them, for two commits ("before",
  default 4df21c3, and "after", default HEAD), each in its own copy (`git archive`: a clean clone's
  files, reports/ included): cold (`nox -s tf jax torch` in an empty .nox), warm forced
  (`HARNESS_NO_REUSE=1 nox -R -s tf jax torch`), incremental (one scenario module edited, `nox -R -s
  tf jax torch`) and tests (`nox -s tests`); each step on both sides one after the other. Wall
  seconds per nox session, what each backend reran, and whether the forced run's arrays are
  bit-identical to the cold run's (and to the other side's forced run). A side's steps without
  "cold" run in the copy an earlier `mainjob` left (its .nox and artifacts).

Everything runs under /tmp/khb-speed (--work); nothing under reports/. Each line says the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def copy_checkout(target: Path) -> Path:
    """The checkout's tracked and new files (not reports/, not .nox), as a clean clone would have them."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if name.startswith("reports/") or not (ROOT / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None, log: Path | None = None,
          ) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds of the children, exit code, output."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if log:
        log.write_text(done.stdout + done.stderr)
    return wall, cpu, done.returncode, done.stdout + done.stderr


def part_install(args: argparse.Namespace) -> None:
    clone = copy_checkout(args.work / "install-clone")
    print("| session | uv: wall (CPU) | virtualenv + pip: wall (CPU) | ratio | load |")
    print("|---|---|---|---|---|")
    for session in args.sessions:
        figures = {}
        for backend in ("uv", "virtualenv"):
            shutil.rmtree(clone / ".nox", ignore_errors=True)
            wall, cpu, code, _ = timed(["nox", "--force-venv-backend", backend, "-s", session, "--install-only"],
                                       clone, log=args.work / f"install-{backend}-{session}.log")
            figures[backend] = (wall, cpu, code, load())
        (uw, uc, ucode, ul), (vw, vc, vcode, vl) = figures["uv"], figures["virtualenv"]
        print(f"| {session} | {uw:.1f} s ({uc:.1f}){'' if ucode == 0 else ' FAILED'} | {vw:.1f} s ({vc:.1f})"
              f"{'' if vcode == 0 else ' FAILED'} | {vw / uw:.1f}x | {ul}, {vl} |", flush=True)
    shutil.rmtree(clone / ".nox", ignore_errors=True)


def _arrays(json_path: Path) -> dict:
    from harness import artifacts

    art = artifacts.read(json_path)
    out = {}
    for name, record in art.records.items():
        for key, probe in record.captured.probes.items():
            out[(name, key, "values")] = (probe.values.dtype.str, probe.values.shape, probe.values.tobytes())
            if probe.mask is not None:
                out[(name, key, "mask")] = (probe.mask.dtype.str, probe.mask.shape, probe.mask.tobytes())
    return out, {n: r.meta.get("reused") for n, r in art.records.items()}


def part_rerun(args: argparse.Namespace) -> None:
    clone = copy_checkout(args.work / "rerun-clone")
    results = args.work / "rerun-results"
    shutil.rmtree(results, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "HARNESS_NO_REUSE")}
    command = [args.python, "-m", "harness", "run", "--backend", args.backend, "--results", str(results), "-q"]
    for pattern in args.select:
        command += ["--select", pattern]
    edited = clone / args.edit
    rows = []
    snapshots = {}
    for step in ("cold", "warm forced", "warm reused", "incremental"):
        step_env = dict(env)
        if step in ("cold", "warm forced"):
            step_env["HARNESS_NO_REUSE"] = "1"
        if step == "incremental":
            with edited.open("a") as handle:
                handle.write("\n# edited by benchmarks/bench_speed.py\n")
        wall, cpu, code, out = timed(command, clone, step_env, log=args.work / f"rerun-{step.replace(' ', '-')}.log")
        (path,) = results.glob("*.json")
        snapshots[step] = _arrays(path)
        summary = [line for line in out.splitlines() if " scenarios (" in line]
        rows.append((step, wall, cpu, code, summary[-1] if summary else out[-300:], load()))
    print(f"| step ({args.backend}, {' '.join(args.select) or 'whole suite'}) | wall | CPU | what ran | load |")
    print("|---|---|---|---|---|")
    for step, wall, cpu, code, summary, where in rows:
        what = summary.split(" in ")[-1].split(" -> ")[0] if code == 0 else f"FAILED ({code})"
        print(f"| {step} | {wall:.1f} s | {cpu:.1f} s | {what} | {where} |")
    forced, _ = snapshots["warm forced"]
    reused, flags = snapshots["warm reused"]
    same = sum(1 for k, v in reused.items() if forced.get(k) == v)
    print(f"\nreused run: {sum(1 for f in flags.values() if f)} of {len(flags)} scenarios reused; "
          f"{same} of {len(reused)} arrays bit-identical to the run they were copied from")
    cold, _ = snapshots["cold"]
    same_cold = sum(1 for k, v in forced.items() if cold.get(k) == v)
    print(f"warm forced vs cold: {same_cold} of {len(forced)} arrays bit-identical")
    _, incremental = snapshots["incremental"]
    rerun = sorted(n for n, f in incremental.items() if not f)
    print(f"incremental ({args.edit} edited): reran {len(rerun)}: {', '.join(rerun[:8])}"
          f"{' ...' if len(rerun) > 8 else ''}")


def part_tests(args: argparse.Namespace) -> None:
    base = [args.python, "-m", "pytest", "-q", *args.files]
    runs = {"-n auto": [*base, "-n", "auto"], "serial": [*base, "-p", "no:xdist"]}
    figures = {name: [] for name in runs}
    order = list(runs)
    for repeat in range(args.repeat):
        for name in order[repeat % 2:] + order[:repeat % 2]:
            wall, cpu, code, out = timed(runs[name], ROOT)
            figures[name].append((wall, cpu, code, out.strip().splitlines()[-1] if out.strip() else "", load()))
    print("| pytest | wall | CPU | result | load |")
    print("|---|---|---|---|---|")
    for name, values in figures.items():
        for wall, cpu, _, last, where in values:
            print(f"| {name} | {wall:.1f} s | {cpu:.1f} s | {last} | {where} |")


MAINJOB_STEPS = ("cold", "forced", "incremental", "tests")
NOX_MAIN = ["nox", "-s", "tf", "jax", "torch"]


def mainjob_copy(work: Path, side: str, rev: str) -> Path:
    """A clean clone's files of `rev` (what `git archive` gives: reports/ included, no .nox)."""
    target = work / f"mainjob-{side}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def nox_timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> dict:
    """Run nox; wall seconds in all and per session (from the time each "Running session" line
    arrived), each backend run's summary line, and the exit code."""
    sessions: list[tuple[str, float]] = []
    lines = []
    before = os.times()
    start = time.perf_counter()
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as process:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("nox > Running session "):
                sessions.append((line.split()[-1], time.perf_counter() - start))
        code = process.wait()
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    log.write_text("".join(lines))
    ends = [at for _, at in sessions[1:]] + [wall]
    return {"wall": wall, "cpu": cpu, "code": code, "load": os.getloadavg()[0],
            "sessions": {name: end - at for (name, at), end in zip(sessions, ends)},
            "runs": [line.strip() for line in lines if " reused from the previous run, " in line],
            "tail": "".join(lines[-5:])}


RUN_LINE = re.compile(r"(\S+): (\d+) scenarios .* in ([\d.]+)s, (\d+) reused from the previous run, (\d+) run")


def _what_ran(line: str) -> str:
    """A backend run's summary line, short: `tensorflow-cpu: 169 scenarios ... in 113.1s, 0 reused
    from the previous run, 169 run -> ...` -> `tensorflow-cpu 169 run, 0 reused (113.1 s)`."""
    found = RUN_LINE.search(line)
    if not found:
        return line[:80]
    label, _, wall, reused, run = found.groups()
    return f"{label} {run} run, {reused} reused ({float(wall):.1f} s)"


def _backend_arrays(copy: Path) -> dict:
    """Every probe's arrays of the three backend artifacts in the copy's reports/results."""
    out = {}
    for path in sorted((copy / "reports" / "results").glob("*.json")):
        arrays, _ = _arrays(path)
        out.update({(path.stem, *key): value for key, value in arrays.items()})
    return out


def _identical(a: dict, b: dict) -> str:
    """How many of the arrays both runs captured are bit-identical (dtype, shape, bytes); the rest
    (scenarios or probes only one side has) counted apart."""
    common = a.keys() & b.keys()
    same = sum(1 for key in common if a[key] == b[key])
    differ = sorted({key[:2] for key in common if a[key] != b[key]})
    return (f"{same} of {len(common)} arrays both captured bit-identical"
            + (f" (differ: {', '.join('/'.join(k) for k in differ[:6])})" if differ else "")
            + (f"; only in the first: {len(a.keys() - common)}, only in the second: {len(b.keys() - common)}"
               if len(common) != max(len(a), len(b)) else ""))


def part_mainjob(args: argparse.Namespace) -> None:
    revs = {"before": args.before, "after": args.after}
    steps = {"before": args.before_steps, "after": args.after_steps}
    copies: dict[str, Path] = {}
    for side in revs:
        if "cold" in steps[side]:
            copies[side] = mainjob_copy(args.work, side, revs[side])
        elif steps[side]:
            copies[side] = args.work / f"mainjob-{side}"
            if not (copies[side] / ".nox").is_dir():
                sys.exit(f"bench_speed: {copies[side]} has no .nox: run its cold step first "
                         f"(--{side}-steps cold ...)")
    base_env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "HARNESS_NO_REUSE")}
    posargs = ["--", *args.posargs] if args.posargs else []
    commands = {"cold": [*NOX_MAIN, *posargs], "forced": [*NOX_MAIN[:1], "-R", *NOX_MAIN[1:], *posargs],
                "incremental": [*NOX_MAIN[:1], "-R", *NOX_MAIN[1:], *posargs],
                "tests": ["nox", "-s", "tests", *(["--", *args.tests_args.split()] if args.tests_args else [])]}
    figures: dict[tuple[str, str], dict] = {}
    arrays: dict[tuple[str, str], dict] = {}
    order = [side for side in ("before", "after") if side in copies]
    for number, step in enumerate(MAINJOB_STEPS):
        for side in order[number % 2:] + order[:number % 2]:  # who goes first alternates
            if step not in steps[side]:
                continue
            copy, env = copies[side], dict(base_env)
            if step == "cold":
                shutil.rmtree(copy / ".nox", ignore_errors=True)
            if step == "forced":
                env["HARNESS_NO_REUSE"] = "1"
            edited = copy / args.edit
            original = edited.read_bytes()
            if step == "incremental":  # a new comment each time: never the text a previous run saw
                edited.write_bytes(original + f"\n# edited by bench_speed.py {time.time_ns()}\n".encode())
            try:
                figures[side, step] = nox_timed(commands[step], copy, env, args.work / f"mainjob-{side}-{step}.log")
            finally:
                edited.write_bytes(original)
            print(f"{side} {step}: {figures[side, step]['wall']:.1f} s, exit {figures[side, step]['code']}, "
                  f"load {figures[side, step]['load']:.1f}", file=sys.stderr, flush=True)
            if step in ("cold", "forced") and figures[side, step]["code"] == 0:
                arrays[side, step] = _backend_arrays(copy)
    print("| step | side | wall | CPU | per session (wall) | what ran | load (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for step in MAINJOB_STEPS:
        for side in ("before", "after"):
            if (side, step) not in figures:
                continue
            f = figures[side, step]
            per = ", ".join(f"{name} {seconds:.1f}" for name, seconds in f["sessions"].items())
            ran = "; ".join(_what_ran(run) for run in f["runs"])
            failed = "" if f["code"] == 0 else f" **exit {f['code']}**"
            print(f"| {step} | {side} ({revs[side]}) | {f['wall']:.1f} s{failed} | {f['cpu']:.1f} s | {per} | {ran} "
                  f"| {f['load']:.1f} |")
    loads = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores; load average at the end {loads}")
    for side in ("before", "after"):
        if (side, "cold") in arrays and (side, "forced") in arrays:
            print(f"{side}: forced vs cold: {_identical(arrays[side, 'forced'], arrays[side, 'cold'])}")
    if ("before", "forced") in arrays and ("after", "forced") in arrays:
        print(f"forced, after vs before: {_identical(arrays['after', 'forced'], arrays['before', 'forced'])}")
    for (side, step), f in figures.items():
        if f["code"] != 0:
            print(f"\n{side} {step} FAILED (exit {f['code']}); its last lines:\n{f['tail']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/khb-speed"))
    parts = parser.add_subparsers(dest="part", required=True)
    install = parts.add_parser("install")
    install.add_argument("--sessions", nargs="+", default=["torch", "jax", "tf", "tests"])
    rerun = parts.add_parser("rerun")
    rerun.add_argument("--python", default=sys.executable)
    rerun.add_argument("--backend", default="torch")
    rerun.add_argument("--select", action="append", default=[])
    rerun.add_argument("--edit", default="scenarios/seed.py", help="the scenario module the incremental run edits")
    tests = parts.add_parser("tests")
    tests.add_argument("--python", default=sys.executable)
    tests.add_argument("--repeat", type=int, default=1)
    tests.add_argument("files", nargs="*", default=["tests"])
    mainjob = parts.add_parser("mainjob", help="the issue's four figures through nox, before and after")
    mainjob.add_argument("--before", default="4df21c3", help="the commit before (default 4df21c3)")
    mainjob.add_argument("--after", default="HEAD", help="the commit after (default HEAD)")
    mainjob.add_argument("--before-steps", nargs="*", choices=MAINJOB_STEPS, default=list(MAINJOB_STEPS))
    mainjob.add_argument("--after-steps", nargs="*", choices=MAINJOB_STEPS, default=list(MAINJOB_STEPS))
    mainjob.add_argument("--edit", default="scenarios/pooling_merge.py",
                         help="the scenario module the incremental step edits (a comment appended)")
    mainjob.add_argument("--tests-args", default="", help="passed to `nox -s tests` (e.g. 'tests/test_reuse.py')")
    mainjob.add_argument("posargs", nargs="*",
                         help="after --: passed to the backend sessions (e.g. --select 'merge/*')")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    {"install": part_install, "rerun": part_rerun, "tests": part_tests, "mainjob": part_mainjob}[args.part](args)


if __name__ == "__main__":
    main()
