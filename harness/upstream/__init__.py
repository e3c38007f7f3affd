"""Upstream-ready issue drafts: one per cause the harness found, in the form Keras's bug template asks for.

    drafts.py    the causes as data (scenarios/upstream.toml): title, expected line, cause, status
    capture.py   runs each kept repro.py in each backend's environment, with a time bound
    evidence.py  which Keras versions show it, from the version runs' artifacts
    render.py    the draft markdown and the index (reports/upstream/README.md)
    cli.py       `python -m harness upstream`

Nothing here imports keras: the repro scripts run in child processes, one per environment.
"""
