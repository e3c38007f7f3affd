"""The theme families (issue 28): a scenario's upstream references, how they reach the artifact and
the report, and the registration every theme scenario must carry (an upstream link and a theme tag).
Backend-free: nothing here imports keras."""

from __future__ import annotations

import re

import numpy as np
import pytest

from harness.define import registry
from harness.define.info import scenario_meta
from harness.define.registry import Scenario, ScenarioError, Train, scenario, upstream_url
from harness.report import cli as report_cli
from harness.report import render
from tests.helpers.factories import make_probe, make_record, three_runs

THEMES = ("saving", "nested", "hub-layers", "timedistributed", "jit-custom", "losses", "ragged")


@pytest.mark.parametrize(("ref", "url"), [
    ("keras-team/keras#22037", "https://github.com/keras-team/keras/issues/22037"),
    ("keras-team/keras-hub#2220", "https://github.com/keras-team/keras-hub/issues/2220"),
    ("tensorflow/tensorflow#23632", "https://github.com/tensorflow/tensorflow/issues/23632"),
])
def test_upstream_reference_becomes_its_github_page(ref, url):
    assert upstream_url(ref) == url


@pytest.mark.parametrize("ref", ["keras#22037", "keras-team/keras", "keras-team/keras#0", "#22037",
                                 "https://github.com/keras-team/keras/issues/1", "keras-team/keras#12a",
                                 "keras-team/keras#1 ", 22037])
def test_malformed_upstream_reference_is_refused(ref):
    with pytest.raises(ScenarioError, match="upstream reference"):
        upstream_url(ref)


def test_scenario_refuses_a_malformed_reference_when_it_is_defined():
    with pytest.raises(ScenarioError, match="'keras#1' in scenario 'themes-test/bad'"):
        scenario("themes-test/bad", description="d", upstream=("keras#1",))(lambda: None)


def _registered(name: str, **kwargs) -> Scenario:
    def build():
        return None

    build.__module__ = f"themes_test_{abs(hash(name))}"
    scenario(name, description="d", **kwargs)(build)
    return registry._BY_MODULE.pop(build.__module__)[name]


def test_upstream_is_kept_on_the_scenario_and_one_string_is_one_reference():
    assert _registered("themes-test/one", upstream="keras-team/keras#1").upstream == ("keras-team/keras#1",)
    assert _registered("themes-test/two", upstream=["a/b#1", "c/d#2"]).upstream == ("a/b#1", "c/d#2")
    assert _registered("themes-test/none").upstream == ()


def test_artifact_meta_carries_upstream_only_when_a_scenario_has_it():
    assert scenario_meta(_registered("themes-test/meta", upstream=("a/b#7",)))["upstream"] == ["a/b#7"]
    assert "upstream" not in scenario_meta(_registered("themes-test/plain"))


def test_train_loss_config_defaults_empty_and_keeps_arguments():
    assert Train(targets=np.zeros(1)).loss_config == {}
    assert Train(targets=np.zeros(1), loss_config={"ignore_class": 0}).loss_config == {"ignore_class": 0}


def _report(meta_upstream, tmp_path) -> str:
    probes = {"dense": make_probe(np.ones((1, 2), np.float32))}
    extra = {} if meta_upstream is None else {"upstream": meta_upstream}
    runs = three_runs(*[[make_record("theme/case", probes, **extra)] for _ in range(3)])
    data, _ = report_cli.build(runs, tmp_path / "no-known-divergences.toml")
    return render.render(data)


def _section(src: str) -> str:
    start = src.index("\n### theme/case\n")
    end = src.find("\n### ", start + 1)
    return src[start: end if end != -1 else len(src)]


def test_report_links_each_upstream_reference_in_the_scenario_section(tmp_path):
    section = _section(_report(["keras-team/keras#22037", "keras-team/keras-hub#2220"], tmp_path))
    # the label is escaped markdown text ("#" as "\\#"), the target the reference's GitHub page
    assert ("Upstream: [keras-team/keras\\#22037](https://github.com/keras-team/keras/issues/22037), "
            "[keras-team/keras-hub\\#2220](https://github.com/keras-team/keras-hub/issues/2220)") in section


def test_report_shows_a_malformed_reference_as_text_never_as_a_link(tmp_path):
    section = _section(_report(["evil](javascript:alert(1))#1"], tmp_path))
    line = next(x for x in section.splitlines() if x.startswith("Upstream:"))
    assert "](" not in line and "javascript" in line


def test_report_without_upstream_has_no_upstream_line(tmp_path):
    assert "Upstream:" not in _section(_report(None, tmp_path))


@pytest.fixture(scope="module")
def suite() -> list[Scenario]:
    return registry.load(registry.DEFAULT_SOURCES)


def test_every_theme_has_a_family_of_scenarios(suite):
    families = {s.name.split("/")[0] for s in suite}
    assert set(THEMES) <= families


@pytest.mark.parametrize("theme", THEMES)
def test_theme_scenarios_carry_their_theme_tag_and_an_upstream_link(suite, theme):
    family = [s for s in suite if s.name.startswith(theme + "/")]
    assert family
    for scn in family:
        assert f"theme:{theme}" in scn.tags, scn.name
        assert scn.upstream and all(re.fullmatch(r"keras-team/keras(-hub)?#\d+", r) for r in scn.upstream), scn.name
