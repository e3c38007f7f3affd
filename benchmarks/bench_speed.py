"""Issue 23: installs, reruns and tests, each before and after, side by side in one run.

    python benchmarks/bench_speed.py install [--sessions torch jax tf tests]   # uv vs virtualenv (pip)
    python benchmarks/bench_speed.py rerun --python .nox/jax/bin/python --backend jax --select 'rnn/*'
    python benchmarks/bench_speed.py tests --python .nox/tests/bin/python tests/test_cli.py ...

- install: `nox --install-only -s S` from a fresh copy of the checkout, once with nox's uv backend and
  once with virtualenv (pip), each in an empty .nox; wall seconds per session.
- rerun: in a copy of the checkout, `harness run` four times into one results folder: cold (fills the
  artifact), warm forced (HARNESS_NO_REUSE=1), warm reused (nothing changed), incremental (one scenario
  module edited: a comment appended). Checks that the reused arrays are bit-identical to the run they
  came from, and that the incremental run reran exactly the edited module's scenarios.
- tests: the given test files with pytest-xdist (-n auto) and without (-p no:xdist), interleaved.

Everything runs under /tmp/khb-speed (--work); nothing under reports/. Each line says the load average.
"""

from __future__ import annotations

import argparse
import os
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
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    {"install": part_install, "rerun": part_rerun, "tests": part_tests}[args.part](args)


if __name__ == "__main__":
    main()
