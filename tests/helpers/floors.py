"""The house of imports: harness/'s modules, the harness modules each imports (at the top or inside a
function: an arrow is an arrow), and the floor each stands on. tests/test_architecture.py checks it;
`python -m tests.helpers.floors` prints the drawing docs/architecture.md shows.

Floors, from the ground up (a module may import its own floor's and lower floors' modules only):
  0 ground   harness (the package), harness.safety, harness.define.*
  1          harness.artifacts: the contract between run and everything after it
  2          harness.run.* | harness.compare.*   (side by side: neither imports the other)
  3          harness.versions.*: Keras releases and nightly builds, their environments, bisect
  4          harness.generate.* (fuzz, across versions too) | harness.report.*: renders one ReportModel;
             the report imports only compare's types
  5          harness.upstream.*: Keras issue drafts from captured repro runs (uses the report's markdown)
  6 door     harness.__main__, harness.cli and each stage's cli modules (harness.<stage>.cli, *_cli)
"""

from __future__ import annotations

import ast
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKEND_LIBRARIES = ("keras", "tensorflow", "jax", "torch", "tf_keras")

FLOORS: tuple[tuple[str, ...], ...] = (
    ("harness", "harness.safety", "harness.define"),
    ("harness.artifacts",),
    ("harness.run", "harness.compare"),
    ("harness.versions",),
    ("harness.generate", "harness.report"),
    ("harness.upstream",),
    ("harness.__main__", "harness.cli"),
)
DOOR = len(FLOORS) - 1


@dataclass
class Module:
    name: str
    path: Path
    imports: dict[str, list[str]] = field(default_factory=dict)  # harness module -> names taken from it
    libraries: set[str] = field(default_factory=set)  # top-level packages outside the harness


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_house(root: Path = ROOT, package: str = "harness") -> dict[str, Module]:
    """Every module of `package` under `root` with what it imports."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        name = module_name(path, root)
        modules[name] = Module(name, path)
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    _add(module, modules, alias.name, None, package)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(module, node)
                for alias in node.names:
                    _add(module, modules, base, alias.name, package)
    return modules


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".") if module.path.name == "__init__.py" else module.name.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def _add(module: Module, modules: dict[str, Module], base: str, name: str | None, package: str) -> None:
    top = base.split(".")[0]
    if top != package:
        module.libraries.add(top)
        return
    if name is not None and f"{base}.{name}" in modules:  # `from harness.run import runner`: a module
        module.imports.setdefault(f"{base}.{name}", [])
        return
    target = base
    while target not in modules and "." in target:
        target = target.rsplit(".", 1)[0]
    module.imports.setdefault(target, []).append(name or "*")


def stage(name: str) -> str:
    """The folder a module belongs to: harness.run.runner -> harness.run; a cli module is the door."""
    if is_door(name):
        return "cli"
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or name in _PACKAGES else name


_PACKAGES = {"harness.define", "harness.run", "harness.compare", "harness.versions", "harness.generate",
             "harness.report", "harness.upstream"}


def is_door(name: str) -> bool:
    return name in ("harness.__main__", "harness.cli") or name.endswith((".cli", "_cli"))


def floor(name: str) -> int:
    if is_door(name):
        return DOOR
    for level, members in enumerate(FLOORS):
        if any(name == m or (m != "harness" and name.startswith(m + ".")) for m in members):
            return level
    raise ValueError(f"{name}: on no floor; add its folder to FLOORS")


def problems(modules: dict[str, Module]) -> list[str]:
    """Every way the house breaks its rules, one line each (empty: it stands)."""
    out = []
    for module in modules.values():
        here = floor(module.name)
        for target, names in module.imports.items():
            there = floor(target)
            if there > here:
                out.append(f"{module.name} (floor {here}) imports {target} (floor {there}): an arrow running up")
            elif there == here and here != DOOR and stage(target) != stage(module.name) and here != 0:
                out.append(f"{module.name} imports {target}: two stages side by side on floor {here}")
            if stage(module.name) == "harness.report" and stage(target) == "harness.compare":
                calls = [n for n in names if not (n[:1].isupper() or n == "*")]
                if calls or not names:
                    out.append(f"{module.name} takes {', '.join(calls) or 'the module'} from {target}: "
                               f"the report renders compare's types, it calls no judge")
            if stage(module.name) == "harness.report" and stage(target) not in (
                    "harness.report", "harness.compare", "harness.define", "harness.safety", "harness.artifacts"):
                out.append(f"{module.name} imports {target}: the report reads only compare's types, define, "
                           f"safety and the artifact types")
        if stage(module.name) == "harness.define":
            out += [f"{module.name} imports {t}: define imports nothing of the harness but safety"
                    for t in module.imports if stage(t) not in ("harness.define", "harness.safety")]
        backend = module.libraries & set(BACKEND_LIBRARIES)
        if backend and stage(module.name) != "harness.run":
            out.append(f"{module.name} imports {', '.join(sorted(backend))}: only run/ imports keras and the backends")
    return out + [f"a circle: {' -> '.join(c)}" for c in cycles(modules)]


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """One circle per strongly connected group of modules (Tarjan), each drawn as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in modules[name].imports:
            if target == name or target not in modules:
                continue
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                found.append(sorted(group) + [sorted(group)[0]])

    for name in modules:
        if name not in index:
            visit(name)
    return found


def drawing(modules: dict[str, Module]) -> str:
    """The house, top floor first: each stage, its modules, and the stages it imports."""
    stages: dict[str, set[str]] = {}
    members: dict[str, list[str]] = {}
    for module in modules.values():
        own = stage(module.name)
        members.setdefault(own, []).append(module.name)
        stages.setdefault(own, set()).update(stage(t) for t in module.imports if stage(t) != own)
    lines = []
    for level in range(DOOR, -1, -1):
        here = sorted(s for s in stages if (floor(members[s][0]) if s != "cli" else DOOR) == level)
        for own in here:
            prefix = own + "." if own in _PACKAGES else "harness."
            if own == "cli":
                names = sorted(n.removeprefix("harness.") for n in members[own])
            elif own in _PACKAGES:
                names = sorted(n.removeprefix(prefix) if n != own else "__init__" for n in members[own])
            else:
                names = [f"{own.replace('.', '/')}.py" if own != "harness" else "harness/__init__.py"]
            below = ", ".join(sorted(s.removeprefix("harness.") for s in stages[own])) or "nothing"
            lines.append(f"floor {level}  {own.removeprefix('harness.'):<9} imports {below}")
            lines += textwrap.wrap(" ".join(names), 100, initial_indent=" " * 10, subsequent_indent=" " * 10)
    return "\n".join(lines)


if __name__ == "__main__":
    house = read_house()
    print(drawing(house))
    broken = problems(house)
    print("\n".join(broken) if broken else "no circle, no arrow running up")
    sys.exit(1 if broken else 0)
