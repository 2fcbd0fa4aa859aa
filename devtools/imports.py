"""The import contracts: no cycles, layers that point down, imports a layer must not make.

``python -m devtools.imports [GRAPH ...]`` checks the graphs pyproject.toml declares under
``[tool.devtools.imports.GRAPH]`` (every graph when none is named) and exits 1 on a
violation. ``make lint`` checks the graphs in the Makefile's ``LINT_IMPORTS``; ``make
imports`` checks every one.

Every import counts, whatever guards it: under ``if TYPE_CHECKING:`` or inside a function
too. A cycle a type checker or a late import lets run is still one a reader must hold in
their head, and the next edit turns it into an ImportError.

A graph is read from the source (ast, nothing is imported). Its nodes are modules
(``nodes = "modules"``), or the root's packages and top-level modules (``nodes =
"packages"``: api/x/... is one node ``api.x``, api/y.py is ``api.y``). Each report names
the files, lines and imported names that make every edge it shows, so the fix is in view:

- ``acyclic``: no cycle. Each cycle is printed as a shortest loop, hop by hop, until every
  import inside the cycle's nodes has been shown once.
- ``layers``: top first. A node may import a layer below its own, never one above, not
  even through nodes outside the layers. Within one layer, ``a | b`` are independent
  (neither imports the other) and ``a : b`` may import each other.
- ``forbidden``: ``{source = [targets]}``, a target being a node of the graph or another
  package (``fastapi``): the source must not reach it, directly or through other nodes.

Why not import-linter: its layers and forbidden contracts would do, but its cycle contract
(``acyclic_siblings``) names a cycle's dependencies with counts of imports, not the files
and names that close it; and it would be one more locked dependency for what a page of
ast does here.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import sys
import tomllib
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"

NodeKind = Literal["modules", "packages"]


@dataclass(frozen=True)
class Import:
    """One import statement's names that reach one module."""

    path: str  # the importing file, relative to the config's directory
    line: int
    statement: str  # as written, with only the names that reach ``target``
    target: str  # the module it reaches (a top-level name for another package)
    guard: str = ""  # "under TYPE_CHECKING", "inside a function"

    def __str__(self) -> str:
        guard = f"  ({self.guard})" if self.guard else ""
        return f"{self.path}:{self.line}: {self.statement}{guard}"


@dataclass(frozen=True)
class Contract:
    name: str
    root: Path  # the package's directory
    package: str  # its dotted name
    nodes: NodeKind = "modules"
    acyclic: bool = True
    layers: tuple[str, ...] = ()
    forbidden: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass
class Graph:
    nodes: set[str]  # this package's nodes only
    edges: dict[tuple[str, str], list[Import]]
    out: dict[str, set[str]]

    def path(self, start: str, goal: str, through: set[str]) -> list[str] | None:
        """A shortest path start -> ... -> goal whose inner nodes are all in ``through``."""
        before: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in sorted(self.out[node]):
                if nxt == goal:
                    hops = [node, goal]
                    while hops[0] != start:
                        hops.insert(0, before[hops[0]])
                    return hops
                if nxt in through and nxt not in before and nxt != start:
                    before[nxt] = node
                    queue.append(nxt)
        return None

    def ways(self, start: str, goal: str, through: set[str]) -> list[list[str]]:
        """A shortest path start -> ... -> goal through each of start's imports that leads
        there: every import to cut, not only the first."""
        found = []
        for first in sorted(self.out[start]):
            if first == goal:
                found.append([start, goal])
            elif first in through:
                rest = self.path(first, goal, through - {start})
                found.extend([[start, *rest]] if rest else [])
        return found

    def hops(self, path: Sequence[str], shown: set[tuple[str, str]] | None = None) -> list[str]:
        """Each hop of a path and the imports that make it (once: ``shown`` remembers)."""
        lines = []
        for edge in itertools.pairwise(path):
            lines.append(f"  {edge[0]} -> {edge[1]}")
            if shown is not None and edge in shown:
                lines.append("    (shown above)")
                continue
            lines.extend(f"    {found}" for found in self.edges[edge])
            if shown is not None:
                shown.add(edge)
        return lines


# --- reading the source -------------------------------------------------------------------


def module_names(contract: Contract) -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its __init__.py)."""
    found = {}
    for path in sorted(contract.root.rglob("*.py")):
        parts = list(path.relative_to(contract.root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([contract.package, *parts])] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    nodes: Iterable[ast.AST], guard: str = ""
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement under ``nodes`` with what guards it, in source order."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, guard
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _imports(ast.iter_child_nodes(node), guard or "inside a function")
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.body, "under TYPE_CHECKING")
            yield from _imports(node.orelse, guard)
        else:
            yield from _imports(ast.iter_child_nodes(node), guard)


def _known(name: str, modules: Mapping[str, Path]) -> str:
    """The longest prefix of ``name`` that is a module of ours, else its top-level name."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return parts[0]


def _alias(alias: ast.alias) -> str:
    return f"{alias.name} as {alias.asname}" if alias.asname else alias.name


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a ``from ... import`` names, its leading dots resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join([*package, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path, modules: Mapping[str, Path], shown: Path) -> list[Import]:
    """What one file imports, one ``Import`` per module reached."""
    found: list[Import] = []
    for node, guard in _imports([ast.parse(path.read_text(), str(path))]):
        line, where = node.lineno, str(shown)
        if isinstance(node, ast.Import):
            found.extend(
                Import(where, line, f"import {_alias(a)}", _known(a.name, modules), guard)
                for a in node.names
            )
            continue
        base = _absolute(node, module, path.name == "__init__.py")
        written = "." * node.level + (node.module or "")
        by_target: dict[str, list[str]] = defaultdict(list)
        for alias in node.names:  # a name may be a submodule: it is then the target
            sub = f"{base}.{alias.name}"
            by_target[sub if sub in modules else _known(base, modules)].append(_alias(alias))
        found.extend(
            Import(where, line, f"from {written} import {', '.join(names)}", target, guard)
            for target, names in by_target.items()
        )
    return found


def node_of(module: str, contract: Contract) -> str:
    if contract.nodes == "packages" and module.startswith(f"{contract.package}."):
        return ".".join(module.split(".")[:2])
    return module


def build(contract: Contract, base: Path) -> Graph:
    """The graph of ``contract``'s package; file names are shown relative to ``base``."""
    modules = module_names(contract)
    graph = Graph(set(), defaultdict(list), defaultdict(set))
    for module, path in modules.items():
        source = node_of(module, contract)
        graph.nodes.add(source)
        for found in imports_of(module, path, modules, path.relative_to(base)):
            target = node_of(found.target, contract)
            if target != source:
                graph.edges[source, target].append(found)
                graph.out[source].add(target)
    return graph


# --- the contracts ----------------------------------------------------------------------


def strongly_connected(graph: Graph) -> list[list[str]]:
    """The graph's cycles as groups of nodes (Tarjan), each of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.out[node] & graph.nodes):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph.nodes):
        if node not in index:
            visit(node)
    return sorted(groups)


def cycles(graph: Graph) -> list[str]:
    """Each cycle as shortest loops, until every import within its nodes was shown."""
    reports = []
    for group in strongly_connected(graph):
        members = set(group)
        inside = sorted(e for e in graph.edges if e[0] in members and e[1] in members)
        shown: set[tuple[str, str]] = set()
        for edge in inside:
            if edge in shown:
                continue
            back = graph.path(edge[1], edge[0], members)
            assert back is not None  # noqa: S101 - both ends are in one strongly connected group
            loop = [edge[0], *back]
            lines = [f"import cycle: {' -> '.join(loop)}", *graph.hops(loop, shown)]
            reports.append("\n".join(lines))
    return reports


def _matches(name: str, node: str) -> bool:
    return node == name or node.startswith(f"{name}.")


def _layered(layers: Sequence[str]) -> list[tuple[int, str, bool]]:
    """(layer, name, independent of its siblings) for every name the layers list."""
    found: list[tuple[int, str, bool]] = []
    for level, layer in enumerate(layers):
        independent = "|" in layer
        for name in layer.replace("|", ":").split(":"):
            found.append((level, name.strip(), independent))
    return found


def _report(graph: Graph, head: str, ways: Sequence[Sequence[str]]) -> str:
    """A violation: its head, then each way it happens, hop by hop (an import once)."""
    if len(ways) == 1:
        return "\n".join([head, *graph.hops(ways[0])])
    shown: set[tuple[str, str]] = set()
    lines = [f"{head}, {len(ways)} ways:"]
    for number, way in enumerate(ways, 1):
        lines.append(f"  ({number}) {' -> '.join(way)}")
        lines.extend(f"  {line}" for line in graph.hops(way, shown))
    return "\n".join(lines)


def layer_violations(graph: Graph, layers: Sequence[str]) -> list[str]:
    layered = _layered(layers)
    entry: dict[str, tuple[int, str, bool]] = {}
    for level, name, independent in layered:
        for node in graph.nodes:
            if _matches(name, node):
                entry[node] = (level, name, independent)
    free = graph.nodes - set(entry)  # what a chain may pass through
    reports = []
    for low_node, (low, low_name, independent) in sorted(entry.items()):
        for high_node, (high, high_name, _) in sorted(entry.items()):
            sibling = high == low and independent and high_name != low_name
            if not (high < low or sibling):
                continue
            ways = graph.ways(low_node, high_node, free)
            if ways:
                where = "its independent sibling" if sibling else f"layer {high + 1}, above it"
                head = (
                    f"upward import: {low_node} (layer {low + 1} of {len(layers)}) "
                    f"imports {high_node} ({where})"
                )
                reports.append(_report(graph, head, ways))
    return reports


def forbidden_violations(graph: Graph, forbidden: Mapping[str, Sequence[str]]) -> list[str]:
    reports = []
    targets = {t for e in graph.edges for t in e}
    for source_name, names in forbidden.items():
        for source in sorted(n for n in graph.nodes if _matches(source_name, n)):
            for name in names:
                for target in sorted(t for t in targets if _matches(name, t) and t != source):
                    ways = graph.ways(source, target, graph.nodes - {target})
                    if ways:
                        head = f"forbidden import: {source} must not import {name}"
                        reports.append(_report(graph, head, ways))
    return reports


def missing_names(graph: Graph, contract: Contract) -> list[str]:
    """Names the contract gives that match no node of the package (a typo, or a package
    still to come): a contract about nothing would pass silently."""
    own = [name for _, name, _ in _layered(contract.layers)]
    own += list(contract.forbidden)
    own += [t for ts in contract.forbidden.values() for t in ts if _matches(contract.package, t)]
    return [
        f"no such module: {name} (named in the contract, absent from {contract.package})"
        for name in dict.fromkeys(own)
        if not any(_matches(name, node) for node in graph.nodes)
    ]


def check(contract: Contract, base: Path) -> list[str]:
    """Every violation of the contract, one report each."""
    graph = build(contract, base)
    return [
        *missing_names(graph, contract),
        *(cycles(graph) if contract.acyclic else []),
        *layer_violations(graph, contract.layers),
        *forbidden_violations(graph, contract.forbidden),
    ]


# --- the command ------------------------------------------------------------------------


def load(config: Path) -> dict[str, Contract]:
    """The contracts under [tool.devtools.imports.NAME]; paths relative to the config."""
    tables = tomllib.loads(config.read_text())["tool"]["devtools"]["imports"]
    for name, table in tables.items():
        if table.get("nodes", "modules") not in ("modules", "packages"):
            raise SystemExit(f'{config}: {name}: nodes is "modules" or "packages"')
    return {
        name: Contract(
            name=name,
            root=config.parent / table["root"],
            package=table["package"],
            nodes=table.get("nodes", "modules"),
            acyclic=table.get("acyclic", True),
            layers=tuple(table.get("layers", ())),
            forbidden=table.get("forbidden", {}),
        )
        for name, table in tables.items()
    }


def run(contracts: Iterable[Contract], base: Path) -> int:
    failed = 0
    for contract in contracts:
        reports = check(contract, base)
        for report in reports:
            print(f"{contract.name}: {report}\n")
        verdict = f"{len(reports)} violation(s)" if reports else "kept"
        print(f"{contract.name} ({contract.root.relative_to(base)}): {verdict}")
        failed += bool(reports)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.imports", description=__doc__)
    parser.add_argument("graphs", nargs="*", help="the graphs to check (default: all)")
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args(argv)
    contracts = load(args.config)
    unknown = [name for name in args.graphs if name not in contracts]
    if unknown:
        parser.error(f"no graph {', '.join(unknown)} in {args.config}: {', '.join(contracts)}")
    chosen = [contracts[name] for name in args.graphs or contracts]
    return run(chosen, args.config.parent)


if __name__ == "__main__":
    sys.exit(main())
