"""Runtimes, the environment cache and the versions/bisect commands' bad-input handling.

No Keras and no network: pip is replaced by fakes that write what a real install would leave.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness import artifacts
from harness.__main__ import main
from harness.versions import envs, runtimes

INDEX = ("keras (3.15.1)\nAvailable versions: 3.15.1, 3.10.0, 3.4.0, 3.3.3, 3.0.0, 3.0.0rc1, 2.15.0, 2.4.3\n")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HARNESS_ENV_CACHE", str(tmp_path / "envs"))
    return tmp_path / "envs"


@pytest.fixture
def index(monkeypatch):
    """pip's `index versions` answers INDEX; every call is recorded."""
    calls = []

    def fake_run(command, **kw):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, stdout=INDEX, stderr="")

    monkeypatch.setattr(envs.subprocess, "run", fake_run)
    return calls


@pytest.fixture
def fake_pip(monkeypatch):
    """pip installs nothing but leaves a python; each install is recorded as (env name, pins)."""
    installs = []

    def pip(python: Path, args: list[str], log) -> None:
        installs.append((python.parents[1].name, [a for a in args if not a.startswith("-")][1:]))

    def create(self, env):
        (Path(env) / "bin").mkdir(parents=True)
        (Path(env) / "bin" / "python").write_text("")
        envs._site_packages(Path(env)).mkdir(parents=True)

    monkeypatch.setattr(envs, "_pip", pip)
    monkeypatch.setattr(envs.venv.EnvBuilder, "create", create)
    return installs


def test_labels_carry_the_keras_version_and_match_the_artifact_contract():
    k2, k3 = runtimes.keras2(), runtimes.keras3("3.3.3", "torch")
    assert k2.label() == "tf-keras-2.21-cpu"
    assert k3.label() == "keras-3.3.3-torch-cpu"
    assert all(artifacts.LABEL_RE.fullmatch(label) for label in (k2.label(), k3.label()))
    assert runtimes.from_label(k3.label()) == k3
    assert runtimes.from_label(k2.label()) == runtimes.Runtime(runtimes.KERAS2, "2.21", "tensorflow")
    assert runtimes.from_label("tensorflow-cpu") is None  # the main runs are not version runs


def test_pins_per_release_follow_the_rules():
    assert runtimes.keras3("3.3.3", "torch").pins() == ("keras==3.3.3", "numpy<2", "packaging")
    assert runtimes.keras3("3.4.0", "torch").pins() == ("keras==3.4.0",)
    assert runtimes.keras2().pins() == ("tf-keras==2.21.0",)
    assert runtimes.keras2().base_pins() == ("tensorflow==2.21.0",)  # tensorflow-cpu does not satisfy tf-keras
    assert runtimes.keras2().environ()["TF_USE_LEGACY_KERAS"] == "1"


def test_runtime_pins_match_the_pyproject_groups():
    import tomllib

    groups = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    groups = groups["project"]["optional-dependencies"]
    assert tuple(groups["keras2"]) == runtimes.KERAS2_PINS
    for backend, pins in runtimes.BASE_PINS.items():  # the release runs use the main runs' backend pins
        assert list(pins) == [p for p in groups[backend] if not p.startswith("keras==")]


@pytest.mark.parametrize("version", ["3.3", "3.0.0rc1", "latest", "", "3..1"])
def test_versions_that_are_not_releases_are_refused(version):
    if version == "3.3":
        assert runtimes.parse(version) == (3, 3)
        return
    with pytest.raises(ValueError):
        runtimes.parse(version)


def test_release_list_keeps_final_keras3_releases_oldest_first(index):
    assert envs.releases() == ["3.0.0", "3.3.3", "3.4.0", "3.10.0", "3.15.1"]


def test_release_list_without_network_is_one_clear_error(monkeypatch):
    def offline(command, **kw):
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="WARNING: retrying\n"
                                           "ERROR: No matching distribution found for keras\n")

    monkeypatch.setattr(envs.subprocess, "run", offline)
    with pytest.raises(envs.EnvError, match="no network.*No matching distribution"):
        envs.releases()

    def hang(command, **kw):
        raise subprocess.TimeoutExpired(command, kw.get("timeout"))

    monkeypatch.setattr(envs.subprocess, "run", hang)
    with pytest.raises(envs.EnvError, match="within"):
        envs.releases(timeout_s=0.01)


def test_second_ensure_installs_nothing_and_releases_share_one_base(cache, fake_pip):
    a, b = runtimes.keras3("3.3.3", "torch"), runtimes.keras3("3.4.0", "torch")
    envs.ensure(a, log=lambda line: None)
    envs.ensure(b, log=lambda line: None)
    assert [name for name, _ in fake_pip] == [next(p.name for p in cache.glob("base-torch-*")),
                                              "keras-3.3.3-torch", "keras-3.4.0-torch"]
    envs.ensure(a, log=lambda line: None)
    envs.ensure(b, log=lambda line: None)
    assert len(fake_pip) == 3 and envs.is_cached(a) and envs.is_cached(b)
    pth = envs._site_packages(cache / "keras-3.3.3-torch") / "_harness_base.pth"
    assert pth.read_text().strip().startswith(str(cache / "base-torch-"))


def test_a_layer_cut_short_is_rebuilt_and_a_failed_build_leaves_nothing(cache, fake_pip, monkeypatch):
    runtime = runtimes.keras3("3.4.0", "torch")
    envs.ensure(runtime, log=lambda line: None)
    (cache / runtime.env_name / envs.MARKER).unlink()  # as if the build had been interrupted
    assert not envs.is_cached(runtime)
    envs.ensure(runtime, log=lambda line: None)
    assert envs.is_cached(runtime) and len(fake_pip) == 3

    def broken(python, args, log):
        raise envs.EnvError("pip could not install keras==3.10.0: no matching distribution")

    monkeypatch.setattr(envs, "_pip", broken)
    with pytest.raises(envs.EnvError):
        envs.ensure(runtimes.keras3("3.10.0", "torch"), log=lambda line: None)
    assert not (cache / "keras-3.10.0-torch").exists()


def test_import_check_result_is_cached_with_the_layer(cache, fake_pip):
    runtime = runtimes.keras3("3.0.0", "torch")
    envs.ensure(runtime, log=lambda line: None)
    assert envs.import_problem(runtime) is None
    envs.record_import(runtime, "keras does not import: No module named 'packaging'")
    assert envs.import_problem(runtime).endswith("'packaging'")
    assert json.loads((cache / runtime.env_name / envs.MARKER).read_text())["pins"] == list(runtime.pins())


# ---- bad input: one line, exit 2, nothing written lost ---------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["bisect", "--select", "seed/*", "--backend", "torch", "--good", "3.9.9"], "--good 3.9.9: not a Keras 3 release"),
    (["bisect", "--select", "seed/*", "--backend", "torch", "--good", "3.10.0", "--bad", "3.3.3"],
     "--good 3.10.0 must be an older release than --bad 3.3.3"),
    (["bisect", "--select", "seed/*", "--backend", "torch", "--bad", "latest"], "not a release version"),
    (["bisect", "--select", "seed/*", "--backend", "mxnet"], "unknown backend 'mxnet'"),
    (["bisect", "--select", "no-such-scenario", "--backend", "torch"], "matches no scenario"),
    (["versions", "run", "--keras", "tf-keras", "--backend", "torch"], "Keras 2 (tf-keras) runs on TensorFlow only"),
    (["versions", "run", "--keras", "2.15.0", "--backend", "tf"], "keras 2.15.0 is not a Keras 3 release"),
    (["versions", "run", "--keras", "3.2.1", "--backend", "torch"], "--keras 3.2.1: not a Keras 3 release"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, index, cache, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: error: ") and message in err, err
    assert not cache.exists()  # nothing was built for a refused command


def test_no_network_is_one_line_and_leaves_written_results(monkeypatch, capsys, tmp_path, cache):
    results = tmp_path / "versions"
    results.mkdir()
    (results / "keras-3.3.3-torch-cpu.json").write_text("{}")

    def offline(command, **kw):
        raise subprocess.TimeoutExpired(command, 60)

    monkeypatch.setattr(envs.subprocess, "run", offline)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main(["versions", "run", "--keras", "3.3.3", "--backend", "torch", "--select", "seed/*",
                 "--results", str(results)]) == 2
    assert "no network" in capsys.readouterr().err
    assert (results / "keras-3.3.3-torch-cpu.json").read_text() == "{}"


# ---- the report section ---------------------------------------------------------------------

def _claim_run(label: str, backend: str, keras: str, c5: bool, flavour: str = "keras", **env):
    from tests.helpers.factories import expectation, make_artifact, make_probe, make_record

    mask = [[True, False, True]] if c5 else [[True, True, True]]
    record = make_record("claims/c5", {"concat": make_probe([[1.0, 2.0, 3.0]], mask)},
                         expectations=[expectation("masked in any input", "C5", c5)])
    return make_artifact(label, [record], backend=backend, keras=keras, keras_flavour=flavour, **env)


def _report(tmp_path: Path, results: list, versions: list):
    from harness.report import cli as report_cli
    from harness.report import render

    for run in versions:
        artifacts.write(run, tmp_path / "versions")
    data, summary = report_cli.build(results, tmp_path / "no-known.toml", results_dir=str(tmp_path / "results"),
                                     **report_cli.beside(tmp_path / "results"))  # what `harness report` reads
    return render.render(data), summary


def test_section_tables_claims_per_runtime_and_names_the_release_that_changed(tmp_path, monkeypatch):
    from harness.compare import timeline as section

    monkeypatch.setattr(section, "UPSTREAM", (  # the 3.0.0 entry lies before the change shown: not its cause
        section.Upstream("C5", ("torch",), "3.0.0", "Keras 3", ("https://github.com/keras-team/keras/issues/1",)),
        section.Upstream("C5", ("torch",), "3.5.0", "Concatenate ORs the masks",
                         ("https://github.com/keras-team/keras/pull/1234",), "python -m harness bisect ..."),
        section.Upstream("C5", ("torch",), "3.9.0", "later", ("https://github.com/keras-team/keras/pull/9",))))
    results = [_claim_run("tf-keras-2.21-cpu", "tensorflow", "2.21.0", True, flavour="tf-keras"),
               _claim_run("torch-cpu", "torch", "3.15.1", False)]
    versions = [_claim_run("keras-3.0.0-torch-cpu", "torch", "3.0.0", True),
                _claim_run("keras-3.8.0-torch-cpu", "torch", "3.8.0", False),
                _claim_run("keras-3.3.3-jax-cpu", "jax", "3.3.3", True, cannot_run="no jaxlib wheel")]
    text, summary = _report(tmp_path, results, versions)
    body = text.split("## Seed conclusions across Keras versions", 1)[1].split("\n## ", 1)[0]
    rows = next(block for block in body.split("\n\n") if block.startswith("| runtime")).splitlines()
    assert [r.split(" | ")[0] for r in rows[2:]] == ["| tf-keras 2.21.0", "| keras 3.3.3 · jax",
                                                     "| keras 3.0.0 · torch", "| keras 3.8.0 · torch",
                                                     "| keras 3.15.1 · torch"]
    assert "cannot run" in rows[3] and "no jaxlib wheel" in body
    assert ("**C5** on torch: holds in keras 3.0.0 · torch → does-not-hold in keras 3.8.0 · torch. "
            "First release: keras 3.5.0 (harness bisect)") in body
    assert "[keras-team/keras\\#1234](https://github.com/keras-team/keras/pull/1234)" in body
    assert "- **C5**, keras 3.5.0 (torch): Concatenate ORs the masks ([keras-team/keras" in body
    assert body.count("First release:") == 1
    facts = summary["keras_versions"]
    assert [(c["claim"], c["backend"], c["first_after"]) for c in facts["changes"]] == [
        ("C5", "torch", "keras 3.8.0 · torch")]
    assert facts["changes"][0]["upstream"] == ["https://github.com/keras-team/keras/pull/1234"]
    assert [c["change"] for c in facts["changed_scenarios"]] == ["claims/c5: 'masked in any input' holds -> fails"]
    # the release runs stay out of the pairwise comparison
    assert summary["backends"] == ["tf-keras-2.21-cpu", "torch-cpu"] or set(summary["backends"]) == {
        "tf-keras-2.21-cpu", "torch-cpu"}


def test_no_version_runs_no_section(tmp_path):
    text, summary = _report(tmp_path, [_claim_run("torch-cpu", "torch", "3.15.1", False)], [])
    assert "across Keras versions" not in text and "keras_versions" not in summary


def test_a_release_that_cannot_run_is_one_line_exit_2_and_recorded(index, cache, capsys, tmp_path, monkeypatch):
    from harness.versions import bisect, runs

    def cannot(runtime, log=print):
        raise bisect.CannotRun("keras does not import: No module named 'jaxlib.xla_extension'")

    monkeypatch.setattr(runs, "python_for", cannot)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    results = tmp_path / "versions"
    assert main(["versions", "run", "--keras", "3.3.3", "--backend", "jax", "--select", "seed/rnn-model",
                 "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: error: keras 3.3.3 on jax cannot run here")
    recorded = artifacts.read(results / "keras-3.3.3-jax-cpu.json")
    assert recorded.environment["cannot_run"].endswith("'jaxlib.xla_extension'")
    assert [r.status for r in recorded.records.values()] == ["skipped"]
    # bisect: an end of the range that cannot run stops it with one line
    assert main(["bisect", "--select", "seed/rnn-model", "--backend", "jax", "--good", "3.3.3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: keras 3.3.3 cannot run here: keras does not import") and err.count("\n") == 1


@pytest.mark.parametrize("text, expected", [("3.4.1", (3, 4, 1)), ("2.21.0rc1", (2, 21, 0)), ("¹²", ()),
                                            ("", ()), ("3.x", (3,)), ("not a version", ())])
def test_versions_read_from_artifacts_take_ascii_digits_only(text, expected):
    from harness.compare import timeline

    assert timeline.version_of(text) == expected
