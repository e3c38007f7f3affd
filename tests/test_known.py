"""harness.known: the TOML registry of understood divergences, and what an entry covers."""

from __future__ import annotations

import pytest
from conftest import JAX, TF, TORCH, make_record, seed_probes, three_runs

from harness.compare import verdicts
from harness.compare.known import KnownDivergence, KnownDivergenceError, find_known, load_known

REGISTRY = '''
[[divergence]]
scenario = "rnn/gru-*"
backends = ["torch"]
probes = "gru_*"
what = "GRU outputs differ at masked steps"
why = "torch's cuDNN-style kernel"
link = "https://github.com/keras-team/keras/issues/1"

[[divergence]]
scenario = "seed/*"
backends = ["tensorflow", "jax"]
what = "anything"
why = "minimal entry: probes and link default"
'''


def write(tmp_path, text: str, name: str = "known.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_known_reads_every_field(tmp_path):
    first, second = load_known(write(tmp_path, REGISTRY))
    assert first == KnownDivergence(scenario="rnn/gru-*", backends=("torch",),
                                    what="GRU outputs differ at masked steps",
                                    why="torch's cuDNN-style kernel", probes="gru_*",
                                    link="https://github.com/keras-team/keras/issues/1")
    assert second.backends == ("tensorflow", "jax")
    assert (second.probes, second.link) == ("*", "")


def test_missing_registry_means_none(tmp_path):
    assert load_known(tmp_path / "absent.toml") == []


def test_empty_registry_means_none(tmp_path):
    assert load_known(write(tmp_path, "# nothing yet\n")) == []


def test_malformed_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[[divergence]\nscenario = \n")
    with pytest.raises(KnownDivergenceError, match="not valid TOML") as info:
        load_known(path)
    assert str(path) in str(info.value)


def test_not_utf8_is_malformed(tmp_path):
    path = tmp_path / "known.toml"
    path.write_bytes(b'[[divergence]]\nscenario = "\xff\xfe"\n')
    with pytest.raises(KnownDivergenceError, match="not valid TOML"):
        load_known(path)


@pytest.mark.parametrize("missing", ["scenario", "backends", "what", "why"])
def test_entry_lacking_a_required_field_names_it(tmp_path, missing):
    fields = {"scenario": '"s/*"', "backends": '["jax"]', "what": '"w"', "why": '"y"'}
    del fields[missing]
    body = "\n".join(f"{k} = {v}" for k, v in fields.items())
    path = write(tmp_path, REGISTRY + "\n[[divergence]]\n" + body + "\n")
    with pytest.raises(KnownDivergenceError) as info:
        load_known(path)
    message = str(info.value)
    assert str(path) in message and "#3" in message and missing in message


def test_backends_not_a_list_of_strings_is_refused(tmp_path):
    path = write(tmp_path, '[[divergence]]\nscenario = "s"\nbackends = 3\nwhat = "w"\nwhy = "y"\n')
    with pytest.raises(KnownDivergenceError):
        load_known(path)


def test_backends_given_as_one_string_is_not_split_into_characters(tmp_path):
    path = write(tmp_path, '[[divergence]]\nscenario = "s"\nbackends = "torch"\nwhat = "w"\nwhy = "y"\n')
    try:
        entries = load_known(path)
    except KnownDivergenceError:
        return
    assert entries[0].backends == ("torch",)


# ---- covers() ---------------------------------------------------------------------------------

ENTRY = KnownDivergence(scenario="rnn/gru-*", backends=("torch",), what="w", why="y", probes="gru_*")


@pytest.mark.parametrize("scenario,backends,probes,covered", [
    ("rnn/gru-masked", ("tensorflow", "torch"), ["gru_1"], True),
    ("rnn/gru-masked", ("torch", "jax"), ["gru_1"], True),  # the backend on either side
    ("rnn/gru-masked", ("tensorflow", "jax"), ["gru_1"], False),  # torch on neither side
    ("rnn/lstm-masked", ("tensorflow", "torch"), ["gru_1"], False),  # scenario glob
    ("rnn/gru-masked", ("tensorflow", "torch"), ["dense"], False),  # probe glob
    ("rnn/gru-masked", ("tensorflow", "torch"), ["gru_1", "gru_2"], True),  # every differing probe
    ("rnn/gru-masked", ("tensorflow", "torch"), ["dense", "gru_2"], False),  # dense is not covered
    ("RNN/GRU-masked", ("tensorflow", "torch"), ["gru_1"], False),  # globs are case-sensitive
    ("rnn/gru-masked", ("tensorflow", "torch"), [], False),  # no probe differs: only "*" covers it
])
def test_covers(scenario, backends, probes, covered):
    assert ENTRY.covers(scenario, backends, "differs", probes) is covered


def test_default_probe_glob_covers_scenario_level_divergences():
    entry = KnownDivergence(scenario="s", backends=("jax",), what="w", why="y")
    assert entry.covers("s", ("jax", "torch"), "warnings-differ", [])  # no probe differs
    assert not ENTRY.covers("rnn/gru-x", ("jax", "torch"), "warnings-differ", [])


def test_default_entry_never_explains_an_error_or_a_missing_result():
    entry = KnownDivergence(scenario="s", backends=("jax",), what="w", why="y")
    assert entry.covers("s", ("jax", "torch"), "differs", ["x"])
    assert not entry.covers("s", ("jax", "torch"), "error-differs", [])
    assert not entry.covers("s", ("jax", "torch"), "missing", [])
    explicit = KnownDivergence(scenario="s", backends=("jax",), what="w", why="y", verdicts=("error-differs",))
    assert explicit.covers("s", ("jax", "torch"), "error-differs", [])
    assert not explicit.covers("s", ("jax", "torch"), "differs", ["x"])


def test_find_known_returns_the_first_covering_entry():
    broad = KnownDivergence(scenario="*", backends=("torch",), what="broad", why="y")
    assert find_known([ENTRY, broad], "rnn/gru-x", ("jax", "torch"), "differs", ["gru_1"]) is ENTRY
    assert find_known([ENTRY, broad], "other", ("jax", "torch"), "differs", ["x"]) is broad
    assert find_known([ENTRY], "other", ("jax", "torch"), "differs", ["x"]) is None


def test_loaded_registry_applies_and_stale_entries_are_listed(tmp_path):
    registry = write(tmp_path, '''
[[divergence]]
scenario = "seed/*"
backends = ["torch"]
probes = "gru_*"
what = "gru differs on torch"
why = "synthetic"

[[divergence]]
scenario = "nothing/*"
backends = ["jax"]
what = "never matches"
why = "stale"
''')
    known = load_known(registry)
    runs = three_runs([make_record("seed/a", seed_probes())], [make_record("seed/a", seed_probes())],
                      [make_record("seed/a", seed_probes(shift=0.5))])
    result = verdicts.compare(runs, known)
    assert result.get("seed/a", TF, TORCH).verdict == "known"
    assert result.get("seed/a", JAX, TORCH).known == known[0]
    assert result.stale_known == [known[1]]
