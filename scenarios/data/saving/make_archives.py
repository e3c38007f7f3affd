"""Write scenarios/data/saving/<backend>.keras: the saving/ scenarios' model, saved under one backend.

Run once per backend, each in that backend's environment (the harness's nox venvs), from the
repository root:

    KERAS_BACKEND=tensorflow .nox/tf/bin/python scenarios/data/saving/make_archives.py
    KERAS_BACKEND=jax        .nox/jax/bin/python scenarios/data/saving/make_archives.py
    KERAS_BACKEND=torch      .nox/torch/bin/python scenarios/data/saving/make_archives.py

Each run also records the Keras and backend versions that wrote the archive in versions.json beside
it (the saving/ scenarios show them in their evidence). Regenerate all three together when the
model in scenarios/_saving_model.py changes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))


def main() -> None:
    backend = os.environ.get("KERAS_BACKEND")
    if backend not in ("tensorflow", "jax", "torch"):
        sys.exit("make_archives: error: set KERAS_BACKEND to tensorflow, jax or torch")
    import keras

    from scenarios._saving_model import archive, build_model

    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    library = __import__(module)
    model = build_model(f"saved_on_{backend}")
    path = archive(backend)
    model.save(path)
    record = Path(__file__).parent / "versions.json"
    versions = json.loads(record.read_text()) if record.exists() else {}
    versions[backend] = {"keras": keras.__version__, backend: library.__version__}
    record.write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path.relative_to(ROOT)} with Keras {keras.__version__} on {backend} {library.__version__}")


if __name__ == "__main__":
    main()
