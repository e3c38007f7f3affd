"""Result reuse (issue 23): a scenario whose fingerprint did not change is copied from the previous
artifact, arrays bit for bit; any one changed input of the fingerprint reruns it.

The runs use tests/fixtures/fake_worker.py (the worker's journal protocol without keras), which logs
every scenario it runs (FAKE_LOG) and gives each a probe of fresh random bits (FAKE_ARRAYS): a rerun
is told from a copy by the log and by the bits."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from harness import artifacts
from harness.__main__ import main
from harness.define import registry
from harness.run import loader, reuse, runner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "fixtures"))
import fake_worker  # noqa: E402

SUITE = {
    "__init__.py": "",
    "_shared.py": "SCALE = 1.0\n",
    "alpha.py": ("from harness import scenario\nfrom suitepkg._shared import SCALE\n\n"
                 "@scenario('alpha/one', description='d')\ndef build():\n    return SCALE\n"),
    "beta.py": ("from pathlib import Path\n\nfrom harness import scenario\n\n"
                "TABLES = Path(__file__).parent / 'data' / 'tables'  # read at run time, as saving/ reads\n\n"
                "@scenario('beta/one', description='d')\ndef build():\n    return 2\n"),
    "data/tables/one.txt": "1 2 3\n",
    "data/other.txt": "no module names this file\n",
}


@pytest.fixture()
def suite(tmp_path, monkeypatch):
    """A scenario package (two modules, one importing a shared suite module) and a fake worker."""
    package = tmp_path / "src" / "suitepkg"
    package.mkdir(parents=True)
    for name, text in SUITE.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "src"))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "ran.log"))
    monkeypatch.setenv("FAKE_ARRAYS", "1")
    monkeypatch.delenv(reuse.ENV_OFF, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    for module in [m for m in sys.modules if m == "suitepkg" or m.startswith("suitepkg.")]:
        monkeypatch.delitem(sys.modules, module)
    fake_worker.patch(monkeypatch)
    return tmp_path


def run(tmp_path: Path, *, compiled: bool = True, reuse_on: bool = True) -> artifacts.Artifact:
    infos = loader.load(["suitepkg"], None, timeout_s=30)
    out = io.StringIO()
    options = runner.RunOptions(backend="jax", sources=["suitepkg"], names=[i.name for i in infos],
                                results_dir=tmp_path / "results", label="fake", timeout_s=30,
                                compiled=compiled, reuse=reuse_on, out=out)
    return artifacts.read(runner.run(infos, options))


def ran(tmp_path: Path) -> list[str]:
    """The scenarios the worker ran since the last call (and forget them)."""
    log = tmp_path / "ran.log"
    names = sorted(line.split()[0] for line in log.read_text().splitlines()) if log.exists() else []
    log.unlink(missing_ok=True)
    return names


def test_an_unchanged_scenario_is_copied_bit_for_bit(suite):
    first = run(suite)
    assert ran(suite) == ["alpha/one", "beta/one"]
    second = run(suite)
    assert ran(suite) == [], "nothing changed: nothing runs"
    for name in ("alpha/one", "beta/one"):
        before, after = first.records[name], second.records[name]
        assert after.meta["reused"] is True and before.meta["reused"] is False
        assert after.meta["fingerprint"] == before.meta["fingerprint"]
        for key, probe in before.captured.probes.items():
            again = after.captured.probes[key]
            assert again.values.dtype == probe.values.dtype and again.values.tobytes() == probe.values.tobytes()
            assert again.mask.tobytes() == probe.mask.tobytes()
    assert second.environment["reused"] == "2 of 2"
    third = run(suite)  # a reused result is reused again: still the first run's bits
    assert third.records["alpha/one"].captured.probes["out"].values.tobytes() == \
        first.records["alpha/one"].captured.probes["out"].values.tobytes()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# Each input of the fingerprint, changed alone -> the scenarios that must run again.
CHANGES = {
    "scenario-definition": (lambda t, mp: _edit(t / "src/suitepkg/beta.py", "return 2", "return 3"), ["beta/one"]),
    "module-outside-the-build": (lambda t, mp: _edit(t / "src/suitepkg/beta.py", "\n\n@scenario",
                                                     "\nOTHER = 1\n\n@scenario"), ["beta/one"]),
    "imported-suite-module": (lambda t, mp: _edit(t / "src/suitepkg/_shared.py", "1.0", "2.0"), ["alpha/one"]),
    "data-file-a-module-names": (lambda t, mp: _edit(t / "src/suitepkg/data/tables/one.txt", "2", "7"),
                                 ["beta/one"]),
    "new-data-file-in-a-named-folder": (lambda t, mp: (t / "src/suitepkg/data/tables/two.txt").write_text("4\n"),
                                        ["beta/one"]),
    "harness-run-code": (lambda t, mp: mp.setattr(reuse, "harness_code_hash", lambda: "other code"),
                         ["alpha/one", "beta/one"]),
    "package-version": (lambda t, mp: mp.setattr(reuse, "packages", lambda: ["keras==9.9.9"]),
                        ["alpha/one", "beta/one"]),
    "python": (lambda t, mp: mp.setattr(reuse.sys, "version", "3.99.0 (another build)"), ["alpha/one", "beta/one"]),
    "device": (lambda t, mp: mp.setenv("CUDA_VISIBLE_DEVICES", "0"), ["alpha/one", "beta/one"]),
    "keras-config-floatx": (lambda t, mp: (t / "keras-home").mkdir() or (t / "keras-home/keras.json").write_text(
        '{"floatx": "float64"}'), ["alpha/one", "beta/one"]),
    "torch-compile-pass": (lambda t, mp: mp.setenv("HARNESS_TORCH_COMPILE", "1"), ["alpha/one", "beta/one"]),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_changing_one_input_of_the_fingerprint_reruns(suite, monkeypatch, change):
    run(suite)
    ran(suite)
    apply, expected = CHANGES[change]
    apply(suite, monkeypatch)
    art = run(suite)
    assert ran(suite) == expected
    assert sorted(n for n, r in art.records.items() if not r.meta["reused"]) == expected
    assert sorted(n for n, r in art.records.items() if r.meta["reused"]) == \
        sorted({"alpha/one", "beta/one"} - set(expected))


def test_data_no_module_names_is_not_an_input(suite):
    run(suite)
    ran(suite)
    _edit(suite / "src/suitepkg/data/other.txt", "no", "still no")
    run(suite)
    assert ran(suite) == []


def test_data_too_large_to_hash_is_never_reused(suite, monkeypatch):
    import suitepkg.beta  # in this process: suite_hash reads the loaded modules

    beta = str(Path(suitepkg.beta.__file__).resolve())
    registry._BY_MODULE.pop("suitepkg.beta")  # the next test's load registers it again
    roots = reuse.suite_roots(["suitepkg"])

    def fresh_hash(module_file: str) -> str:
        for cached in (reuse.suite_hash, reuse._data_hash):
            cached.cache_clear()
        return reuse.suite_hash(module_file, roots)

    assert reuse.data_paths(beta, roots) == [str((suite / "src/suitepkg/data/tables").resolve())]
    assert fresh_hash(beta)
    monkeypatch.setattr(reuse, "MAX_DATA_BYTES", 3)  # the tables folder holds 6 bytes
    assert fresh_hash(beta) == "", "no hash: never reused (runner._fingerprints)"
    assert fresh_hash(str(suite / "src/suitepkg/alpha.py")), "alpha names no data"
    for cached in (reuse.suite_hash, reuse._data_hash):
        cached.cache_clear()  # no hash of this test's files outlives it


def test_the_compiled_pass_and_the_backend_are_inputs(suite):
    run(suite)
    ran(suite)
    run(suite, compiled=False)
    assert ran(suite) == ["alpha/one", "beta/one"]
    context = reuse.run_context("jax", True)
    meta = {"definition_hash": "x", "dtype_policy": None}
    assert reuse.fingerprint(meta, "s", context) != reuse.fingerprint(meta, "s", reuse.run_context("torch", True))
    assert reuse.fingerprint(meta, "s", context) != reuse.fingerprint({**meta, "dtype_policy": "mixed_float16"},
                                                                      "s", context)


def test_a_new_scenario_runs_and_the_others_are_reused(suite):
    run(suite)
    ran(suite)
    (suite / "src/suitepkg/gamma.py").write_text(SUITE["beta.py"].replace("beta/one", "gamma/one"))
    art = run(suite)
    assert ran(suite) == ["gamma/one"]
    assert art.records["gamma/one"].meta["reused"] is False and art.records["beta/one"].meta["reused"] is True


def test_the_harness_code_hash_follows_the_run_code(tmp_path):
    root = Path(reuse.__file__).resolve().parents[1]
    copy = tmp_path / "harness"
    for name in reuse.RUN_CODE:
        source = root / name
        if source.is_dir():
            for file in source.rglob("*.py"):
                (copy / file.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
                (copy / file.relative_to(root)).write_bytes(file.read_bytes())
        else:
            copy.mkdir(exist_ok=True)
            (copy / name).write_bytes(source.read_bytes())
    before = reuse.harness_code_hash(copy)
    assert before == reuse.harness_code_hash(root)
    with (copy / "run" / "capture.py").open("a") as handle:
        handle.write("\n# edited\n")
    assert reuse.harness_code_hash(copy) != before


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_no_reuse_forces_a_full_run(suite, monkeypatch, how):
    first = run(suite)
    ran(suite)
    if how == "environment":
        monkeypatch.setenv(reuse.ENV_OFF, "1")
        art = run(suite)
    else:
        art = run(suite, reuse_on=False)
    assert ran(suite) == ["alpha/one", "beta/one"]
    assert not any(r.meta["reused"] for r in art.records.values())
    assert art.records["alpha/one"].captured.probes["out"].values.tobytes() != \
        first.records["alpha/one"].captured.probes["out"].values.tobytes(), "fresh bits: it ran"


def test_crashes_are_never_reused(suite, monkeypatch):
    _edit(suite / "src/suitepkg/beta.py", "description='d'", "description='d', tags=('fake:sigkill',)")
    first = run(suite)
    assert first.records["beta/one"].status == "crashed"
    ran(suite)
    run(suite)
    assert ran(suite) == ["beta/one"]


def test_the_cli_says_how_many_were_reused(suite, capsys):
    argv = ["run", "--backend", "jax", "--scenarios", "suitepkg", "--results", str(suite / "results"),
            "--label", "fake", "-q"]
    assert main(argv) == 0
    assert main(argv) == 0
    assert "2 reused from the previous run, 0 run" in capsys.readouterr().out
    assert main([*argv, "--no-reuse"]) == 0
    assert "0 reused from the previous run, 2 run" in capsys.readouterr().out
    manifest = json.loads((suite / "results" / "fake.json").read_text())
    assert {s["name"]: s["reused"] for s in manifest["scenarios"]} == {"alpha/one": False, "beta/one": False}
