"""Bad input at the command line: exit code 2, exactly one line on stderr, never a traceback.

Most cases call `harness.__main__.main` in-process (fast; none of them gets as far as starting a
backend); a few run `python -m harness` in a subprocess to prove the contract end to end.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.__main__ import main
from harness.artifacts import Artifact, ScenarioRecord
from harness.define.captured import Captured, Probe
from harness.run import runner

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OK = str(FIXTURES / "ok_scenarios.py")


@pytest.fixture(autouse=True)
def _restore_environment():
    """`run` sets KERAS_BACKEND and TF_* in its own process; keep them out of the test process."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def call(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code: int, err: str, *fragments: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("harness: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def usage_error(capsys, argv: list[str], *fragments: str) -> str:
    code, out, err = call(capsys, *argv)
    assert out == ""
    return assert_usage_error(code, err, *fragments)


def subprocess_harness(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
                       code: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code, *argv] if code else [sys.executable, "-m", "harness", *argv]
    full_env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120,
                          check=False)


def tiny_artifact(results: Path, label: str = "jax-cpu") -> Path:
    probe = Probe(values=np.zeros((1, 3), np.float32), mask=None, dtype="float32")
    record = ScenarioRecord("fixture/alpha", "ok", 0.1, Captured("fixture/alpha", label, {"dense": probe}),
                            {"description": "d"})
    return artifacts.write(Artifact(label, {"backend": label.split("-")[0]}, {"fixture/alpha": record}),
                           results)


def two_artifacts(results: Path) -> Path:
    """Two runs: the report compares pairs (one run alone hits a heatmap bug, tested below)."""
    tiny_artifact(results, "torch-cpu")
    return tiny_artifact(results, "jax-cpu")


def report_args(tmp_path: Path, results: Path) -> list[str]:
    known = tmp_path / "known.toml"  # an empty registry: no known divergences
    known.write_text("")
    return ["report", "--results", str(results), "--out", str(tmp_path / "out" / "report.md"),
            "--json", str(tmp_path / "out" / "summary.json"), "--known", str(known)]


def repoint(json_path: Path) -> None:
    manifest = json.loads(json_path.read_text())
    manifest["npz_sha256"] = hashlib.sha256(json_path.with_suffix(".npz").read_bytes()).hexdigest()
    json_path.write_text(json.dumps(manifest))


# ---- bad input that needs no files ----------------------------------------------------------------

# (argv, fragments the one error line must contain)
SIMPLE_BAD_INPUT = {
    "unknown-backend": (["run", "--backend", "theano"], ["unknown backend 'theano'", "jax"]),
    "empty-backend": (["run", "--backend", ""], ["unknown backend"]),
    "no-command": ([], ["command"]),
    "unknown-command": (["frobnicate"], ["frobnicate"]),
    "unknown-flag-top": (["--verbose", "list"], ["--verbose"]),
    "unknown-flag-list": (["list", "--bogus"], ["--bogus"]),
    "unknown-flag-run": (["run", "--backend", "jax", "--bogus"], ["--bogus"]),
    "unknown-flag-report": (["report", "--strictly"], ["--strictly"]),
    "run-without-backend": (["run"], ["--backend"]),
    "flag-without-value": (["list", "--select"], ["--select"]),
    "timeout-not-a-number": (["run", "--backend", "jax", "--timeout", "soon"], ["--timeout"]),
    "select-nothing-list": (["list", "--scenarios", OK, "--select", "nomatch/*"], ["nomatch/*", "matches no"]),
    "select-nothing-run": (["run", "--backend", "jax", "--scenarios", OK, "--select", "zzz"], ["zzz"]),
    "select-nothing-several": (["list", "--scenarios", OK, "--select", "x*", "--select", "[y]"], ["matches no"]),
    "scenarios-missing-file": (["list", "--scenarios", "no/such/file.py"], ["not found", "no/such/file.py"]),
    "scenarios-missing-py": (["list", "--scenarios", "absent_scenarios.py"], ["not found"]),
    "scenarios-missing-module": (["list", "--scenarios", "no_such_scenarios_pkg"], ["not found"]),
    "scenarios-missing-run": (["run", "--backend", "jax", "--scenarios", "gone.py"], ["gone.py"]),
    "scenarios-is-a-folder": (["list", "--scenarios", str(FIXTURES)], ["not found"]),
    "raises-at-import": (["list", "--scenarios", str(FIXTURES / "raises_at_import.py")],
                         ["ZeroDivisionError", "(raises_at_import.py:3)"]),
    "duplicate-names": (["list", "--scenarios", str(FIXTURES / "duplicate_names.py")],
                        ["duplicate scenario name 'dup/same-name'"]),
    "duplicate-across-files": (["list", "--scenarios", OK, "--scenarios", OK], ["duplicate scenario name"]),
    "label-escapes-folder": (["run", "--backend", "jax", "--scenarios", OK, "--label", "../evil"],
                             ["invalid run label"]),
    "label-with-slash": (["run", "--backend", "jax", "--scenarios", OK, "--label", "a/b"], ["invalid run label"]),
    "label-absolute": (["run", "--backend", "jax", "--scenarios", OK, "--label", "/tmp/x"], ["invalid run label"]),
    "label-with-all": (["run", "--backend", "all", "--label", "x"], ["--label"]),
}


@pytest.mark.parametrize("argv,fragments", SIMPLE_BAD_INPUT.values(), ids=SIMPLE_BAD_INPUT.keys())
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragments):
    usage_error(capsys, argv, *fragments)


def test_bad_label_writes_nothing(capsys, tmp_path):
    usage_error(capsys, ["run", "--backend", "jax", "--scenarios", OK, "--results", str(tmp_path / "r"),
                         "--label", "../../evil"], "invalid run label")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend,session", [("tensorflow", "tf"), ("tf", "tf"), ("jax", "jax"),
                                             ("torch", "torch")])
def test_backend_package_not_installed(capsys, monkeypatch, backend, session):
    import importlib.util

    real = importlib.util.find_spec
    hidden = {"tensorflow": "tensorflow", "tf": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == hidden else real(name, *a))
    line = usage_error(capsys, ["run", "--backend", backend, "--scenarios", OK], "not installed",
                       f"nox -s {session}")
    assert repr(hidden) in line


def test_keras_not_installed(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "keras" else real(name, *a))
    usage_error(capsys, ["run", "--backend", "jax", "--scenarios", OK], "'keras'", "nox -s jax")


@pytest.mark.parametrize("preset,backend", [("torch", "jax"), ("tensorflow", "torch"), ("jax", "tf"),
                                            ("JAX", "torch"), ("numpy", "jax")])
def test_keras_backend_set_to_another_backend(capsys, monkeypatch, preset, backend):
    monkeypatch.setenv("KERAS_BACKEND", preset)
    usage_error(capsys, ["run", "--backend", backend, "--scenarios", OK], "KERAS_BACKEND", preset)


@pytest.mark.parametrize("preset,backend", [("tensorflow", "tf"), ("tf", "tensorflow"), ("jax", "jax"),
                                            ("TORCH", "torch")])
def test_keras_backend_set_to_the_same_backend_is_accepted(capsys, monkeypatch, preset, backend):
    monkeypatch.setenv("KERAS_BACKEND", preset)
    # it gets past the backend check and stops at the next problem: the selection
    usage_error(capsys, ["run", "--backend", backend, "--scenarios", OK, "--select", "none"], "matches no")


def write_file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_scenario_file_with_a_syntax_error(capsys, tmp_path):
    path = write_file(tmp_path, "bad_syntax.py", '"""A scenario file."""\n\ndef build(:\n    return 1\n')
    usage_error(capsys, ["list", "--scenarios", str(path)], "SyntaxError", "(bad_syntax.py:3)")


def test_scenario_file_with_an_indentation_error(capsys, tmp_path):
    path = write_file(tmp_path, "bad_indent.py", "x = 1\n  y = 2\n")
    usage_error(capsys, ["list", "--scenarios", str(path)], "IndentationError", "(bad_indent.py:2)")


def test_scenario_file_importing_a_missing_module(capsys, tmp_path):
    path = write_file(tmp_path, "needs_pkg.py", "import numpy\nimport no_such_package_xyz\n")
    usage_error(capsys, ["run", "--backend", "jax", "--scenarios", str(path)], "ModuleNotFoundError",
                "no_such_package_xyz", "(needs_pkg.py:2)")


def test_scenario_file_raising_deep_inside_a_helper(capsys, tmp_path):
    path = write_file(tmp_path, "deep.py", "def helper():\n    raise KeyError('nope')\n\n\nhelper()\n")
    usage_error(capsys, ["list", "--scenarios", str(path)], "KeyError", "(deep.py:2)")


def test_scenario_file_with_a_multiline_error_message(capsys, tmp_path):
    path = write_file(tmp_path, "multi.py", "raise RuntimeError('first line\\nsecond line\\nthird')\n")
    line = usage_error(capsys, ["list", "--scenarios", str(path)], "RuntimeError: first line", "(multi.py:1)")
    assert "second" not in line


def test_scenario_raising_a_scenario_error_at_import(capsys, tmp_path):
    path = write_file(tmp_path, "bad_decorator.py",
                      "from harness import scenario\n\n@scenario('x/y')\ndef build():\n    pass\n")
    usage_error(capsys, ["list", "--scenarios", str(path)], "TypeError", "(bad_decorator.py:3)")


# ---- report: bad or missing artifacts ----------------------------------------------------------------


def test_report_with_no_artifacts(capsys, tmp_path):
    (tmp_path / "results").mkdir()
    usage_error(capsys, report_args(tmp_path, tmp_path / "results"), "no artifacts")
    assert not (tmp_path / "out").exists()


def test_report_with_a_missing_results_folder(capsys, tmp_path):
    usage_error(capsys, report_args(tmp_path, tmp_path / "absent"), "no artifacts", "absent")


@pytest.mark.parametrize("damage", ["empty", "truncated", "not-an-object", "wrong-schema", "no-npz",
                                    "foreign-npz", "corrupt-npz", "shape-mismatch", "bad-label"])
def test_report_with_a_bad_artifact(capsys, tmp_path, damage):
    results = tmp_path / "results"
    good = tiny_artifact(results, "torch-cpu")
    path = tiny_artifact(results, "jax-cpu")
    npz = path.with_suffix(".npz")
    manifest = json.loads(path.read_text())
    if damage == "empty":
        path.write_text("")
    elif damage == "truncated":
        path.write_text(path.read_text()[:40])
    elif damage == "not-an-object":
        path.write_text("[1, 2, 3]")
    elif damage == "wrong-schema":
        path.write_text(json.dumps({**manifest, "schema_version": 7}))
    elif damage == "no-npz":
        npz.unlink()
    elif damage == "foreign-npz":
        npz.write_bytes(good.with_suffix(".npz").read_bytes() + b"\0")
    elif damage == "corrupt-npz":
        npz.write_bytes(npz.read_bytes()[:50])
        repoint(path)
    elif damage == "shape-mismatch":
        manifest["scenarios"][0]["probes"][0]["shape"] = [9]
        path.write_text(json.dumps(manifest))
    elif damage == "bad-label":
        path.write_text(json.dumps({**manifest, "label": "../../etc/evil"}))
    usage_error(capsys, report_args(tmp_path, results), "jax-cpu")
    assert not (tmp_path / "out").exists()


def test_report_with_two_artifacts_sharing_a_label(capsys, tmp_path):
    results = tmp_path / "results"
    path = tiny_artifact(results, "jax-cpu")
    (results / "copy.json").write_bytes(path.read_bytes())
    (results / "copy.npz").write_bytes(path.with_suffix(".npz").read_bytes())
    usage_error(capsys, report_args(tmp_path, results), "share a run label")


def test_report_with_a_corrupt_known_divergences_file(capsys, tmp_path):
    results = tmp_path / "results"
    two_artifacts(results)
    known = write_file(tmp_path, "corrupt.toml", "[[divergence]\nscenario = ")
    args = report_args(tmp_path, results)
    args[args.index("--known") + 1] = str(known)
    usage_error(capsys, args, "corrupt.toml")


def test_report_with_a_missing_known_divergences_file(capsys, tmp_path):
    results = tmp_path / "results"
    two_artifacts(results)
    args = report_args(tmp_path, results)
    args[args.index("--known") + 1] = str(tmp_path / "absent.toml")
    usage_error(capsys, args, "absent.toml")
    assert not (tmp_path / "out" / "report.md").exists()


def test_report_with_an_output_path_that_is_a_folder(capsys, tmp_path):
    results = tmp_path / "results"
    two_artifacts(results)
    (tmp_path / "out" / "report.md").mkdir(parents=True)
    usage_error(capsys, report_args(tmp_path, results))


def test_run_with_a_results_path_that_is_a_file(capsys, tmp_path):
    blocker = write_file(tmp_path, "results", "a file, not a folder")
    usage_error(capsys, ["run", "--backend", "jax", "--scenarios", OK, "--results", str(blocker)])
    assert blocker.read_text() == "a file, not a folder"


def test_report_works_on_good_artifacts(capsys, tmp_path):
    results = tmp_path / "results"
    two_artifacts(results)
    code, out, err = call(capsys, *report_args(tmp_path, results), "--strict")
    assert (code, err) == (0, "")
    assert "2 runs" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"] == {"match": 1}


def test_report_on_a_single_artifact(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    results = tmp_path / "results"
    tiny_artifact(results)
    code, out, err = call(capsys, *report_args(tmp_path, results))
    assert (code, err) == (0, "")
    assert (tmp_path / "out" / "report.md").is_file()


# ---- list ----------------------------------------------------------------------------------------------


def test_list_shows_names_descriptions_and_tags(capsys):
    code, out, err = call(capsys, "list", "--scenarios", OK)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[-1] == "2 scenarios"
    alpha = next(line for line in lines if line.startswith("fixture/alpha"))
    assert "the first fixture scenario" in alpha and "[fixture-tag, alpha]" in alpha


def test_list_select_by_tag_and_by_glob(capsys):
    code, out, _ = call(capsys, "list", "--scenarios", OK, "--select", "alpha")
    assert code == 0 and out.splitlines()[-1] == "1 scenarios"
    code, out, _ = call(capsys, "list", "--scenarios", OK, "--select", "fixture/*")
    assert code == 0 and out.splitlines()[-1] == "2 scenarios"


def test_list_default_suite_in_a_subprocess():
    done = subprocess_harness("list")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    seed = next(line for line in done.stdout.splitlines() if line.startswith("seed/rnn-model "))
    assert "0,1,0,1,0" in seed and "[seed," in seed
    assert done.stdout.splitlines()[-1].endswith("scenarios")


# ---- end to end: a subprocess, so nothing in-process can hide a traceback -----------------------------


@pytest.mark.parametrize("argv,fragments", [
    (["run", "--backend", "theano"], ["unknown backend"]),
    (["list", "--no-such-flag"], ["--no-such-flag"]),
    (["list", "--scenarios", str(FIXTURES / "raises_at_import.py")], ["(raises_at_import.py:3)"]),
    (["list", "--scenarios", str(FIXTURES / "duplicate_names.py")], ["duplicate scenario name"]),
    (["run", "--backend", "jax", "--scenarios", OK, "--select", "nothing"], ["matches no"]),
    (["report", "--results", "/nonexistent/results"], ["no artifacts"]),
], ids=["unknown-backend", "unknown-flag", "raises-at-import", "duplicates", "select-nothing", "no-artifacts"])
def test_subprocess_bad_input(tmp_path, argv, fragments):
    done = subprocess_harness(*argv, cwd=tmp_path)
    assert done.stdout == ""
    assert_usage_error(done.returncode, done.stderr, *fragments)


def test_subprocess_keras_backend_mismatch(tmp_path):
    done = subprocess_harness("run", "--backend", "jax", "--scenarios", OK, env={"KERAS_BACKEND": "torch"},
                              cwd=tmp_path)
    assert_usage_error(done.returncode, done.stderr, "KERAS_BACKEND")


HIDE_AND_RUN = """
import runpy, sys
sys.modules[sys.argv[1]] = None  # importlib.util.find_spec now reports it as not installed
sys.argv = ["harness", *sys.argv[2:]]
runpy.run_module("harness", run_name="__main__")
"""


def test_subprocess_backend_not_installed(tmp_path):
    done = subprocess_harness("torch", "run", "--backend", "torch", "--scenarios", OK, code=HIDE_AND_RUN,
                              cwd=tmp_path)
    assert_usage_error(done.returncode, done.stderr, "not installed", "nox -s torch")


def test_subprocess_corrupt_artifact(tmp_path):
    results = tmp_path / "results"
    tiny_artifact(results).write_text('{"schema_version": 1, "label": ')
    done = subprocess_harness(*report_args(tmp_path, results), cwd=tmp_path)
    assert_usage_error(done.returncode, done.stderr, "jax-cpu.json", "not valid JSON")


# ---- bugs found while writing these tests ----------------------------------------------------------------


def test_list_of_a_file_with_no_scenarios(capsys):
    usage_error(capsys, ["list", "--scenarios", str(FIXTURES / "no_scenarios.py")], "no scenario")


def test_run_of_a_file_with_no_scenarios(capsys, tmp_path):
    usage_error(capsys, ["run", "--backend", "jax", "--scenarios", str(FIXTURES / "no_scenarios.py"),
                         "--results", str(tmp_path)], "no scenario")
    assert list(tmp_path.iterdir()) == []


def test_scenarios_path_that_is_not_python(capsys, tmp_path):
    path = write_file(tmp_path, "scenarios.txt", "x = 1\n")
    usage_error(capsys, ["list", "--scenarios", str(path)], "scenarios.txt")


def test_duplicate_name_message_names_the_file(capsys):
    usage_error(capsys, ["list", "--scenarios", str(FIXTURES / "duplicate_names.py")], "duplicate_names.py")


def test_scenario_name_with_a_line_break_is_refused(capsys):
    usage_error(capsys, ["list", "--scenarios", str(FIXTURES / "newline_name.py")], "name")


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_timeout_must_be_positive(capsys, monkeypatch, tmp_path, value):
    monkeypatch.setattr(runner, "run", lambda scenarios, options: tmp_path / "never.json")
    usage_error(capsys, ["run", "--backend", "jax", "--scenarios", OK, "--timeout", value], "--timeout")


def test_list_twice_in_one_process(capsys):
    first = call(capsys, "list", "--select", "seed/*")
    second = call(capsys, "list", "--select", "seed/*")
    assert first[0] == 0 and first == second


def test_output_folder_error_names_the_output_path(capsys, tmp_path):
    results = tmp_path / "results"
    two_artifacts(results)
    out = tmp_path / "out" / "report.md"
    out.mkdir(parents=True)
    line = usage_error(capsys, report_args(tmp_path, results))
    assert str(out) in line and ".tmp" not in line


def test_report_with_a_deeply_nested_artifact(tmp_path):
    results = tmp_path / "results"
    tiny_artifact(results).write_text("[" * 100_000 + "]" * 100_000)
    done = subprocess_harness(*report_args(tmp_path, results), cwd=tmp_path)
    assert_usage_error(done.returncode, done.stderr, "jax-cpu.json")


def test_report_with_an_npz_declaring_a_huge_array(tmp_path):
    results = tmp_path / "results"
    path = tiny_artifact(results)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**13,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fixture/alpha::dense::values.npy", header.getvalue())
    path.with_suffix(".npz").write_bytes(buffer.getvalue())
    repoint(path)
    done = subprocess_harness(*report_args(tmp_path, results), cwd=tmp_path)
    assert_usage_error(done.returncode, done.stderr, "jax-cpu.npz")


def test_report_error_is_one_line_even_for_hostile_names(capsys, tmp_path):
    results = tmp_path / "results"
    path = tiny_artifact(results)
    manifest = json.loads(path.read_text())
    manifest["scenarios"][0]["probes"][0]["shape"] = [7]
    manifest["scenarios"][0]["name"] = "fixture/alpha"
    manifest["scenarios"][0]["probes"][0]["key"] = "dense\nharness: error: forged second line"
    with np.load(path.with_suffix(".npz")) as npz:
        arrays = {k.replace("::dense::", "::dense\nharness: error: forged second line::"): npz[k]
                  for k in npz.files}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.with_suffix(".npz").write_bytes(buffer.getvalue())
    manifest["npz_sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    path.write_text(json.dumps(manifest))
    usage_error(capsys, report_args(tmp_path, results), "jax-cpu.json")


@pytest.mark.parametrize("meta", [{"expectations": "not a list"}, {"expectations": [1]},
                                  {"expectations": [{"name": "e", "claim": ["C1"], "passed": True}]},
                                  {"compiled": "yes"}],
                         ids=["expectations-str", "expectations-int", "claim-list", "compiled-str"])
def test_report_with_malformed_scenario_metadata(capsys, tmp_path, meta):
    results = tmp_path / "results"
    tiny_artifact(results, "torch-cpu")
    path = tiny_artifact(results, "jax-cpu")
    manifest = json.loads(path.read_text())
    manifest["scenarios"][0].update(meta)
    manifest["scenarios"][0]["probes"][0]["dtype"] = "float16"  # differ, so tolerances are consulted
    path.write_text(json.dumps(manifest))
    usage_error(capsys, report_args(tmp_path, results), "jax-cpu.json")


def test_default_label_names_keras2_so_it_never_replaces_the_keras3_run():
    keras3 = {"device": "cpu", "keras_flavour": "keras", "keras": "3.15.1"}
    keras2 = {"device": "cpu", "keras_flavour": "tf-keras", "keras": "2.21.0"}
    assert runner.default_label("tensorflow", keras3) == "tensorflow-cpu"
    assert runner.default_label("tensorflow", keras2) == "tf-keras-2.21-cpu"
    # a version string that cannot make a label falls back to the plain one rather than failing the run
    assert runner.default_label("tensorflow", {**keras2, "keras": "2/../x"}) == "tensorflow-cpu"
