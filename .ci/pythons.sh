#!/usr/bin/env bash
# The main job on a second Python (issue 14): nox runs on that Python, so the sessions do too
# (noxfile.py choose_python), from the installed project, into a results folder of their own (the
# published reports/ are left alone). TensorFlow and JAX only: this machine's torch 2.13.0 CPU wheel
# is built for Python 3.11, and PyPI's torch for other Pythons is a multi-GB CUDA build.
#
#   .ci/pythons.sh [VERSION ...]     default: 3.12; HARNESS_CI_SELECT=GLOB runs a subset (default: all)
#
# A Python that cannot be found is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {  # python3.X on PATH if it runs (a pyenv shim of an inactive version does not), else pyenv's
    local version=$1 candidate
    for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/"python$version"; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c '' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

status=0
for version in "${@:-3.12}"; do
    if ! python=$(find_python "$version"); then
        echo "== pythons: FAILED: no Python $version here (install it: pyenv install $version, or your system's python$version)"
        status=1
        continue
    fi
    work=".nox/ci-py$version"
    rm -rf "$work"
    "$python" -m venv "$work/nox-venv"
    "$work/nox-venv/bin/python" -m pip install --quiet nox
    select=()
    if [ -n "${HARNESS_CI_SELECT:-}" ]; then select=(--select "$HARNESS_CI_SELECT"); fi
    echo "== pythons: nox on $("$python" --version) ($python): tf jax ${select[*]}"
    start=$(date +%s)
    if "$work/nox-venv/bin/nox" --envdir "$work/envs" -s tf jax -- -q "${select[@]}" --results "$work/results"; then
        "$work/nox-venv/bin/python" - "$work/summary.json" "$version" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
pythons = {env["python"].rsplit(".", 1)[0] for env in summary["environments"].values()}
print(f"== pythons: {sys.argv[1].replace('summary.json', 'report.md')} covers {summary['backends']} "
      f"on Python {', '.join(sorted(pythons))}")
assert len(summary["backends"]) == 2 and pythons == {sys.argv[2]}, (summary["backends"], pythons)
PY
    else
        status=1
    fi
    echo "== pythons: Python $version took $(( $(date +%s) - start ))s"
done
exit $status
