"""The command line: `python -m harness COMMAND` (`COMMAND --help` for its options). Exit 0 ok, 1 strict
divergence, 2 bad input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import __version__, artifacts
from harness.cli import EXIT_USAGE, UsageError
from harness.define import registry
from harness.generate import cli as generate_cli
from harness.report import cli as report_cli
from harness.run import backends, check_cli
from harness.run import cli as run_cli
from harness.upstream import cli as upstream_cli
from harness.versions import cli as versions_cli

# Each stage's cli module adds its subcommands (each parser sets `handler`, args -> exit code); this
# list is only their order in --help.
COMMANDS = (run_cli.add_parser, report_cli.add_parser, check_cli.add_parser, generate_cli.add_parser,
            versions_cli.add_parser, report_cli.add_readme_parser, upstream_cli.add_parser,
            run_cli.add_internal_parsers)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    # The installed console script and `python -m harness` are one parser; usage lines name the one used.
    prog = "python -m harness" if Path(sys.argv[0]).name == "__main__.py" else "keras-mask-harness"
    parser = _Parser(prog=prog, description=__doc__)
    parser.add_argument("--version", action="version", version=f"keras-mask-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in COMMANDS:
        add(commands)
    # Internal commands (added without help=) work but are not listed in --help: the commands are
    # listed one per line below "command", never as argparse's {a,b,_c} set.
    commands.metavar = "command"
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return args.handler(args)
    except (UsageError, registry.ScenarioError, backends.BackendError,
            artifacts.ArtifactError) as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an unwritable output path, a full disk: the user's to fix
        print(f"harness: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during a run; the detail says what was kept
        print(f"harness: interrupted{f'; {exc}' if str(exc) else ''}", file=sys.stderr)
        return 130


def console() -> int:
    """The installed `keras-mask-harness` command. The processes it starts (`python -m harness _worker`)
    must import this same installed harness and suite, never a `harness` or `scenarios` folder that
    happens to be in the current directory (a checkout of another version, say)."""
    import os

    os.environ.setdefault("PYTHONSAFEPATH", "1")  # inherited: no current directory on their sys.path
    return main()


if __name__ == "__main__":
    sys.exit(main())
