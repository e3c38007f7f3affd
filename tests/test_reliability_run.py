"""Reliability of `list` and `run` against scenario files and workers that misbehave (issue 13).

Scenario files that hang, exit, kill themselves or close their output at import; workers that hang
or die while starting, importing, between scenarios or at exit, or write garbage into the journal;
a supervisor stopped by SIGINT, SIGTERM or SIGKILL. None of these start a backend: the import faults
are caught by the loader child before any worker starts, and the worker faults use
tests/fixtures/fake_worker.py, which speaks the worker's journal protocol without keras.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness import artifacts
from harness.__main__ import main
from harness.run import loader, processes, runner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "fixtures"))
import fake_worker  # noqa: E402
from test_cli import assert_usage_error  # noqa: E402
from test_reliability import within  # noqa: E402

ROOT = HERE.parent


@pytest.fixture(autouse=True)
def _restore_environment():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def scenario_file(folder: Path, scenarios: dict[str, tuple[str, ...]], prelude: str = "",
                  name: str = "user_scenarios.py", body: str = "raise AssertionError('never built')") -> Path:
    """A scenario file with one trivial scenario per (name -> tags), and `prelude` at import."""
    lines = ["import os, signal, sys, time", "from harness import scenario", textwrap.dedent(prelude)]
    for index, (scenario_name, tags) in enumerate(scenarios.items()):
        lines += [f"@scenario({scenario_name!r}, description='d', tags={tags!r})",
                  f"def build_{index}():", f"    {body}", ""]
    path = folder / name
    path.write_text("\n".join(lines))
    return path


# ---- the import of a scenario file, bounded and never trusted (list and run) ---------------------------

IMPORT_FAULTS = {  # prelude -> fragments of the one error line
    "hangs": ("time.sleep(600)", ["took longer than 1 s", "--timeout"]),
    "hangs-ignoring-signals": ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                               "signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass",
                               ["took longer than 1 s"]),
    "hangs-on-a-fifo": ("os.mkfifo(__file__ + '.fifo')\nopen(__file__ + '.fifo').read()",
                        ["took longer than 1 s"]),
    "os-exit-0": ("os._exit(0)", ["ended the process (exited with status 0)", "must not exit"]),
    "os-exit-3": ("os._exit(3)", ["exited with status 3"]),
    "sys-exit-0": ("sys.exit(0)", ["called sys.exit(0)", "must not exit"]),
    "sys-exit-msg": ("sys.exit('bye')", ["called sys.exit('bye')"]),
    "sigkill-itself": ("os.kill(os.getpid(), signal.SIGKILL)", ["killed by SIGKILL"]),
    "abort": ("import resource\nresource.setrlimit(resource.RLIMIT_CORE, (0, 0))\nos.abort()",
              ["killed by SIGABRT"]),
    "keyboard-interrupt": ("raise KeyboardInterrupt('from the file')", ["KeyboardInterrupt"]),
    "spawns-and-hangs": ("import subprocess\nsubprocess.Popen([sys.executable, '-c', "
                         "'import time; time.sleep(600)'])\ntime.sleep(600)", ["took longer than 1 s"]),
}


@pytest.mark.parametrize("command", ["list", "run"])
@pytest.mark.parametrize("fault", IMPORT_FAULTS, ids=list(IMPORT_FAULTS))
def test_a_scenario_file_that_misbehaves_at_import_is_one_line_and_exit_2(capsys, tmp_path, fault,
                                                                         command):
    prelude, fragments = IMPORT_FAULTS[fault]
    path = scenario_file(tmp_path, {"user/a": ()}, prelude)
    hangs = any("took longer" in f for f in fragments)  # a short bound for those; room for the rest
    argv = [command, "--scenarios", str(path), "--timeout", "1" if hangs else "30"]
    if command == "run":
        argv += ["--backend", "jax", "--results", str(tmp_path / "results")]
    with within(15):
        code = main(argv)
    out, err = capsys.readouterr()
    assert out == ""
    assert_usage_error(code, err, *fragments)
    assert not (tmp_path / "results").exists(), "nothing is written for a run that never started"


def test_the_import_bound_kills_what_the_file_started(tmp_path, capsys):
    path = scenario_file(tmp_path, {"user/a": ()}, f"""
        import subprocess
        child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
        open({str(tmp_path / 'pid')!r}, 'w').write(str(child.pid))
        time.sleep(600)""")
    with within(15):
        assert main(["list", "--scenarios", str(path), "--timeout", "2"]) == 2
    pid = int((tmp_path / "pid").read_text())
    _wait_for(lambda: not _running(pid), 5)  # the file's background process is stopped with it (SIGKILL
    # is delivered asynchronously: allow a moment)


def test_output_of_the_file_at_import_goes_to_stderr_not_into_the_listing(capfd, tmp_path):
    path = scenario_file(tmp_path, {"user/a": ()}, "print('noise from the file')")
    assert main(["list", "--scenarios", str(path)]) == 0
    out, err = capfd.readouterr()
    assert "noise" not in out and "user/a" in out
    assert "noise from the file" in err


def test_a_file_that_closes_its_output_at_import_still_lists(capfd, tmp_path):
    """The import runs in a child: closing stdout and stderr there costs the parent nothing."""
    path = scenario_file(tmp_path, {"user/a": (), "user/b": ()}, "os.close(1)\nos.close(2)")
    assert main(["list", "--scenarios", str(path)]) == 0
    assert capfd.readouterr().out.splitlines()[-1] == "2 scenarios"


def test_the_supervisor_never_imports_the_users_file(tmp_path, monkeypatch):
    marker = tmp_path / "imported-by"
    path = scenario_file(tmp_path, {"user/a": ()}, f"open({str(marker)!r}, 'a').write(str(os.getpid()) + '\\n')")
    before = set(sys.modules)  # other tests may have imported user files in this process on purpose
    assert [i.name for i in loader.load([str(path)], None, timeout_s=10)] == ["user/a"]
    pids = marker.read_text().split()
    assert pids and str(os.getpid()) not in pids
    assert not any(name.startswith("harness_user_") for name in set(sys.modules) - before)


def test_the_loader_works_without_fork(tmp_path, monkeypatch, capsys):
    """Where forking is unsafe (a backend imported in this process) a fresh interpreter loads."""
    monkeypatch.setattr(loader, "fork_is_safe", lambda: False)
    path = scenario_file(tmp_path, {"user/a": ("t",)}, "")
    [info] = loader.load([str(path)], None, timeout_s=60)
    assert (info.name, info.tags, info.meta["definition_hash"]) == ("user/a", ("t",), info.meta["definition_hash"])
    bad = scenario_file(tmp_path, {"user/a": ()}, "os._exit(0)", name="bad.py")
    with pytest.raises(loader.registry.ScenarioError, match="exited with status 0"):
        loader.load([str(bad)], None, timeout_s=60)


def test_fork_is_refused_once_a_backend_is_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", object())
    assert not processes.fork_is_safe()


def test_a_malformed_scenario_list_from_the_child_is_refused():
    for data in ({}, {"scenarios": []}, {"scenarios": [{"name": "a\nb", "description": "", "tags": [],
                                                         "meta": {}}]}, {"scenarios": [1]}):
        with pytest.raises(loader.registry.ScenarioError, match="malformed"):
            loader._infos(data, "f.py")


# ---- the worker: every wait bounded, every death recorded --------------------------------------------------

def supervise(tmp_path: Path, monkeypatch, scenarios: dict[str, tuple[str, ...]], *, timeout: float = 2.0,
              env: dict[str, str] | None = None, bound: float = 20, workers: int = 1) -> artifacts.Artifact:
    fake_worker.patch(monkeypatch)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    path = scenario_file(tmp_path, scenarios)
    infos = loader.load([str(path)], None, timeout_s=30)
    options = runner.RunOptions(backend="jax", sources=[str(path)], names=[i.name for i in infos],
                                results_dir=tmp_path / "results", label="fake", timeout_s=timeout, quiet=True,
                                workers=workers)
    with within(bound):
        json_path = runner.run(infos, options)
    assert not list((tmp_path / "results").glob(".partial-*")), "the journal folder is cleaned up"
    return artifacts.read(json_path)


def statuses(artifact: artifacts.Artifact) -> dict[str, tuple[str, str]]:
    return {n: (r.status, r.captured.error.message if r.captured.error else "") for n, r in artifact.records.items()}


def test_worker_healthy(tmp_path, monkeypatch):
    art = supervise(tmp_path, monkeypatch, {"s/a": (), "s/b": ()})
    assert statuses(art) == {"s/a": ("ok", ""), "s/b": ("ok", "")}


def test_worker_hanging_at_import_is_stopped_by_the_timeout(tmp_path, monkeypatch):
    started = time.monotonic()
    art = supervise(tmp_path, monkeypatch, {"s/a": (), "s/b": ()}, env={"FAKE_IMPORT": "hang"})
    assert time.monotonic() - started < 10
    for status, message in statuses(art).values():
        assert status == "timeout"
        assert "importing the scenario files took longer than 2 s" in message


@pytest.mark.parametrize("fault,fragment", [("exit0", "worker exited with status 0 while importing"),
                                            ("sigkill", "worker killed by SIGKILL while importing")])
def test_worker_dying_at_import_is_recorded_not_silent(tmp_path, monkeypatch, fault, fragment):
    art = supervise(tmp_path, monkeypatch, {"s/a": (), "s/b": ()}, env={"FAKE_IMPORT": fault})
    assert {s for s, _ in statuses(art).values()} == {"crashed"}
    assert all(fragment in m for _, m in statuses(art).values())


def test_worker_that_never_starts_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "STARTUP_S", 1.0)
    art = supervise(tmp_path, monkeypatch, {"s/a": ()}, env={"FAKE_START": "hang"})
    assert statuses(art) == {"s/a": ("timeout", "worker stopped: starting took longer than 1 s")}


def test_worker_lingering_at_exit_does_not_hold_the_run(tmp_path, monkeypatch):
    started = time.monotonic()
    art = supervise(tmp_path, monkeypatch, {"s/a": (), "s/b": ()}, env={"FAKE_LINGER": "1"})
    assert statuses(art) == {"s/a": ("ok", ""), "s/b": ("ok", "")}
    assert time.monotonic() - started < 10


def test_worker_exiting_between_scenarios_is_recorded(tmp_path, monkeypatch):
    art = supervise(tmp_path, monkeypatch, {"s/a": ("fake:exit-after",), "s/b": (), "s/c": ()})
    assert statuses(art) == {"s/a": ("ok", ""),
                             "s/b": ("crashed", "worker exited with status 0 while between scenarios"),
                             "s/c": ("crashed", "worker exited with status 0 while between scenarios")}


def test_scenario_exits_0_sigkill_hang_and_garbage_each_cost_one_scenario(tmp_path, monkeypatch):
    log = tmp_path / "ran.log"
    art = supervise(tmp_path, monkeypatch, {
        "s/1": (), "s/2": ("fake:exit0",), "s/3": (), "s/4": ("fake:sigkill",), "s/5": (),
        "s/6": ("fake:hang",), "s/7": (), "s/8": ("fake:garbage",), "s/9": ()},
        env={"FAKE_LOG": str(log)}, bound=60)
    assert statuses(art) == {
        "s/1": ("ok", ""), "s/2": ("crashed", "worker exited with status 0"), "s/3": ("ok", ""),
        "s/4": ("crashed", "worker killed by SIGKILL"), "s/5": ("ok", ""),
        "s/6": ("timeout", "stopped after 2 s"), "s/7": ("ok", ""),
        "s/8": ("crashed", "worker wrote a malformed journal entry (JSONDecodeError)"), "s/9": ("ok", "")}
    ran = [line.split()[0] for line in log.read_text().splitlines()]
    assert ran == [f"s/{i}" for i in range(1, 10)], "each scenario ran exactly once"


def test_a_fresh_worker_per_batch_bounds_what_a_worker_accumulates(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "SCENARIOS_PER_WORKER", 2)
    log = tmp_path / "ran.log"
    art = supervise(tmp_path, monkeypatch, {f"b/{i}": () for i in range(5)}, env={"FAKE_LOG": str(log)})
    assert statuses(art) == {f"b/{i}": ("ok", "") for i in range(5)}
    pids = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(pids) == 5 and len(set(pids)) == 3 and pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


def test_a_crash_in_a_later_batch_still_costs_one_scenario(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "SCENARIOS_PER_WORKER", 2)
    art = supervise(tmp_path, monkeypatch, {"c/1": (), "c/2": (), "c/3": ("fake:sigkill",), "c/4": (), "c/5": ()})
    assert [s for s, _ in statuses(art).values()] == ["ok", "ok", "crashed", "ok", "ok"]


# ---- the supervisor interrupted: SIGINT, SIGTERM, SIGKILL; then --resume ---------------------------------------

DRIVER = fake_worker.DRIVER


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has stopped; whoever adopted it reaps it


def _start_run(tmp_path: Path, path: Path, log: Path, extra_env: dict[str, str], *flags: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    # one worker: what these tests count (finished, resumed) is one lane's; test_speed_run has two
    env.update({"FAKE_LOG": str(log), "HARNESS_WORKERS": "1", **extra_env})
    return subprocess.Popen([sys.executable, "-c", DRIVER, "run", "--backend", "jax", "--scenarios", str(path),
                             "--results", str(tmp_path / "results"), "--label", "fake", "--timeout", "60",
                             "-q", *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


RESUMABLE = {"r/1": (), "r/2": (), "r/3": ("fake:hang",), "r/4": ()}


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_interrupted_run_stops_its_worker_keeps_what_finished_and_resumes(tmp_path, how):
    path = scenario_file(tmp_path, RESUMABLE)
    log = tmp_path / "first.log"
    supervisor = _start_run(tmp_path, path, log, {})
    _wait_for(lambda: log.exists() and "r/3" in log.read_text())
    worker_pid = int(log.read_text().split()[-1])
    supervisor.send_signal(how)
    with within(20):
        _, err = supervisor.communicate()
    if how == signal.SIGKILL:
        assert supervisor.returncode == -signal.SIGKILL
    else:
        assert supervisor.returncode == 130
        [line] = err.splitlines()
        assert line.startswith("harness: interrupted; 2 finished scenario(s) kept in ") and "--resume" in line
    _wait_for(lambda: not _running(worker_pid), 10)  # SIGKILL: the kernel kills the orphan (PDEATHSIG)
    assert not list((tmp_path / "results").glob("*.json")), "no artifact claims a run that did not finish"

    second = tmp_path / "second.log"
    resumed = _start_run(tmp_path, path, second, {"FAKE_NO_HANG": "1"}, "--resume")
    with within(30):
        _, err = resumed.communicate()
    assert resumed.returncode == 0, err
    assert [line.split()[0] for line in second.read_text().splitlines()] == ["r/3", "r/4"]
    art = artifacts.read(tmp_path / "results" / "fake.json")
    assert statuses(art) == {name: ("ok", "") for name in RESUMABLE}
    assert not list((tmp_path / "results").glob(".partial-*"))


def test_resume_reruns_a_scenario_whose_definition_changed(tmp_path):
    path = scenario_file(tmp_path, RESUMABLE)
    log = tmp_path / "first.log"
    supervisor = _start_run(tmp_path, path, log, {})
    _wait_for(lambda: log.exists() and "r/3" in log.read_text())
    supervisor.send_signal(signal.SIGTERM)
    with within(20):
        supervisor.communicate()
    scenario_file(tmp_path, RESUMABLE, body="raise AssertionError('edited: never built either')")
    second = tmp_path / "second.log"
    resumed = _start_run(tmp_path, path, second, {"FAKE_NO_HANG": "1"}, "--resume")
    with within(30):
        resumed.communicate()
    assert [line.split()[0] for line in second.read_text().splitlines()] == list(RESUMABLE)


def test_resume_ignores_a_run_that_is_still_going_and_a_damaged_journal(tmp_path, capsys):
    results = tmp_path / "results"
    live = results / ".partial-fake-live"
    live.mkdir(parents=True)
    (live / "run.json").write_text(f'{{"backend": "jax", "label": "fake", "compiled": true, "pid": {os.getppid()}}}')
    (live / "journal-1.jsonl").write_text('{"event": "done", "entry": {}}\n')
    damaged = results / ".partial-fake-damaged"
    damaged.mkdir()
    (damaged / "run.json").write_text('{"backend": "jax", "label": "fake", "compiled": true, "pid": 999999999}')
    os.mkfifo(damaged / "journal-1.jsonl")
    options = runner.RunOptions(backend="jax", sources=[], names=[], results_dir=results, label="fake",
                                resume=True)
    with within(5):
        kept, folders, _ = runner._resumable(options, {})
    assert kept == {} and folders == [], "neither the live run's journal nor the damaged one is used"
    [warning] = capsys.readouterr().err.splitlines()
    assert warning.startswith("harness: warning: not resuming from ") and "FIFO" in warning


def test_resume_never_reads_arrays_named_outside_the_journal_folder(tmp_path, capsys):
    results = tmp_path / "results"
    stale = results / ".partial-fake-stale"
    stale.mkdir(parents=True)
    (stale / "run.json").write_text('{"backend": "jax", "label": "fake", "compiled": true, "pid": 999999999}')
    entry = {"name": "s/a", "status": "ok", "duration_s": 0.1, "error": None, "warnings": [], "probes": []}
    (stale / "journal-1.jsonl").write_text(
        json.dumps({"event": "done", "entry": entry, "arrays": "../../outside.npz"}) + "\n")
    options = runner.RunOptions(backend="jax", sources=[], names=[], results_dir=results, label="fake",
                                resume=True)
    kept, folders, _ = runner._resumable(options, {})
    assert kept == {} and folders == []
    assert "cannot be a file name" in capsys.readouterr().err


def test_resume_keeps_the_environment_its_workers_reported(tmp_path):
    """Interrupted after every scenario finished, a --resume starts no worker: the artifact's
    environment (and so its default label, e.g. torch-cpu) must come from the journal, not be lost."""
    results = tmp_path / "results"
    stale = results / ".partial-fake-finished"
    stale.mkdir(parents=True)
    (stale / "run.json").write_text('{"backend": "jax", "label": null, "compiled": true, "pid": 999999999}')
    reported = {"backend": "jax", "device": "cpu", "keras": "3.15.1"}
    (stale / "journal-1.jsonl").write_text(json.dumps({"event": "environment", "environment": reported}) + "\n")
    options = runner.RunOptions(backend="jax", sources=[], names=[], results_dir=results, label=None,
                                resume=True)
    kept, folders, environment = runner._resumable(options, {})
    assert folders == [stale] and environment == reported


def test_run_from_a_thread_with_scenarios_a_trusted_caller_imported(tmp_path, monkeypatch):
    """`check` imports its own generated file and runs backends from threads: a crash there is still
    recorded with the scenario's data, and no signal handler is touched off the main thread."""
    import threading

    from harness.define import registry

    fake_worker.patch(monkeypatch)
    path = scenario_file(tmp_path, {"t/a": (), "t/b": ("fake:sigkill",)}, name="trusted.py")
    scenarios = registry.load([str(path)])
    options = runner.RunOptions(backend="jax", sources=[str(path)], names=[s.name for s in scenarios],
                                results_dir=tmp_path / "results", label="fake", timeout_s=5, quiet=True)
    done = []
    thread = threading.Thread(target=lambda: done.append(runner.run(scenarios, options)))
    with within(30):
        thread.start()
        thread.join()
    art = artifacts.read(done[0])
    assert statuses(art) == {"t/a": ("ok", ""), "t/b": ("crashed", "worker killed by SIGKILL")}
    assert art.records["t/b"].meta["definition_hash"] == scenarios[1].definition_hash


def test_interrupted_run_of_every_backend_stops_them_all_and_resumes(tmp_path):
    path = scenario_file(tmp_path, RESUMABLE)
    log = tmp_path / "first.log"
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    common = [sys.executable, "-c", DRIVER, "run", "--backend", "all", "--scenarios", str(path),
              "--results", str(tmp_path / "results"), "--timeout", "60", "-q"]
    supervisor = subprocess.Popen(common, env={**env, "FAKE_LOG": str(log)}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: log.exists() and log.read_text().count("r/3 ") == 3, 60)
    workers = [int(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("r/3 ")]
    supervisor.send_signal(signal.SIGTERM)
    with within(30):
        _, err = supervisor.communicate()
    assert supervisor.returncode == 130, err
    assert err.splitlines()[-1].startswith("harness: interrupted; each backend's finished scenarios are kept")
    _wait_for(lambda: not any(_running(pid) for pid in workers), 10)
    assert len(list((tmp_path / "results").glob(".partial-*"))) == 3
    second = tmp_path / "second.log"
    resumed = subprocess.run([*common, "--resume"], env={**env, "FAKE_LOG": str(second), "FAKE_NO_HANG": "1"},
                             capture_output=True, text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(line.split()[0] for line in second.read_text().splitlines()) == ["r/3"] * 3 + ["r/4"] * 3
    assert len(list((tmp_path / "results").glob("*.json"))) == 3


# ---- bisect and versions run load the scenario files the same way ---------------------------------------------

# a file that hangs must be stopped at --timeout (1 s, far below its 600 s sleep); one that exits must be
# reported as exiting, so it gets a --timeout it cannot reach on a loaded machine (a 1 s bound there
# could expire while the child is still starting, and report a timeout instead)
@pytest.mark.parametrize("prelude,timeout,fragment", [("time.sleep(600)", "1", "took longer than 1 s"),
                                                      ("os._exit(0)", "60", "exited with status 0")],
                         ids=["hangs", "exits"])
@pytest.mark.parametrize("command", [["bisect", "--select", "user/*", "--backend", "torch"],
                                     ["versions", "run", "--keras", "tf-keras", "--backend", "tf"]],
                         ids=["bisect", "versions-run"])
def test_bisect_and_versions_run_bound_the_import_too(capsys, tmp_path, monkeypatch, prelude, timeout, fragment,
                                                      command):
    """Found by this test: both imported the user's file in their own process, unbounded."""
    from harness.versions import envs

    monkeypatch.setattr(envs, "releases", lambda *a, **k: pytest.fail("nothing past the import may run"))
    path = scenario_file(tmp_path, {"user/a": ()}, prelude)
    with within(float(timeout) + 14):
        code = main([*command, "--scenarios", str(path), "--timeout", timeout])
    assert_usage_error(code, capsys.readouterr().err, fragment)


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_bisect_timeout_must_be_a_finite_positive_number(capsys, tmp_path, value):
    path = scenario_file(tmp_path, {"user/a": ()})
    with within(15):
        code = main(["bisect", "--select", "user/*", "--backend", "torch", "--scenarios", str(path),
                     "--timeout", value])
    assert_usage_error(code, capsys.readouterr().err, "--timeout")
