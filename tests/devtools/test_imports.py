"""The import checker (devtools/imports.py) on a tiny package written for each test: what
it finds, and that each report names the file, the line and the imported names."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from devtools.imports import Contract, check, main

# shop: web (a resource) above engine above store; store knows no settings.
LAYERS = ("shop.web", "shop.engine", "shop.store")
SHOP = {
    "shop/__init__.py": "",
    "shop/web.py": "from shop.engine import apply\n",
    "shop/engine/__init__.py": "from shop.engine.rules import apply\n",
    "shop/engine/rules.py": "from ..store import save\n",
    "shop/store.py": "import json\n",
    "shop/config.py": "",
    "shop/helpers.py": "",
}
CONFIG = """
[tool.devtools.imports.shop]
root = "shop"
package = "shop"
nodes = "packages"
layers = ["shop.web", "shop.engine", "shop.store"]
forbidden = { "shop.store" = ["shop.config", "fastapi"] }
"""


def write(tmp_path: Path, changes: dict[str, str]) -> Path:
    for name, text in {**SHOP, **changes}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    return tmp_path


def reports(tmp_path: Path, changes: dict[str, str], layers: tuple[str, ...] = ()) -> list[str]:
    contract = Contract(
        "shop", write(tmp_path, changes) / "shop", "shop", "packages", layers=layers
    )
    return check(contract, tmp_path)


def test_a_package_that_keeps_its_contract_passes(tmp_path, capsys):
    assert main(["--config", str(write(tmp_path, {}) / "pyproject.toml")]) == 0
    assert capsys.readouterr().out == "shop (shop): kept\n"


def test_a_cycle_under_type_checking_is_named_by_file_line_and_names(tmp_path):
    rules = """\
        from typing import TYPE_CHECKING

        from ..store import save

        if TYPE_CHECKING:
            from shop.web import Request, render
    """
    assert reports(tmp_path, {"shop/engine/rules.py": rules}) == [
        "import cycle: shop.engine -> shop.web -> shop.engine\n"
        "  shop.engine -> shop.web\n"
        "    shop/engine/rules.py:6: from shop.web import Request, render"
        "  (under TYPE_CHECKING)\n"
        "  shop.web -> shop.engine\n"
        "    shop/web.py:1: from shop.engine import apply"
    ]


def test_every_import_inside_a_cycle_is_shown_once(tmp_path):
    store = "from shop import engine\nfrom shop.web import page\n"
    found = reports(tmp_path, {"shop/store.py": store})
    assert [r.splitlines()[0] for r in found] == [
        "import cycle: shop.engine -> shop.store -> shop.engine",
        "import cycle: shop.store -> shop.web -> shop.engine -> shop.store",
    ]
    assert "shop/store.py:1: from shop import engine" in found[0]
    assert "  shop.engine -> shop.store\n    (shown above)" in found[1]


def test_an_upward_import_through_a_module_outside_the_layers(tmp_path):
    found = reports(
        tmp_path,
        {
            "shop/web.py": "",  # no cycle: only the upward import is left
            "shop/store.py": "from shop import helpers\n",
            "shop/helpers.py": "import shop.web\n",
        },
        layers=LAYERS,
    )
    assert found == [
        "upward import: shop.store (layer 3 of 3) imports shop.web (layer 1, above it)\n"
        "  shop.store -> shop.helpers\n"
        "    shop/store.py:1: from shop import helpers\n"
        "  shop.helpers -> shop.web\n"
        "    shop/helpers.py:1: import shop.web"
    ]


def test_independent_siblings_may_not_import_each_other(tmp_path):
    contract = Contract("shop", write(tmp_path, {}) / "shop", "shop", "packages")
    siblings = replace(contract, layers=("shop.web | shop.engine",))
    assert check(siblings, tmp_path)[0].splitlines()[0] == (
        "upward import: shop.web (layer 1 of 1) imports shop.engine (its independent sibling)"
    )
    together = replace(contract, layers=("shop.web : shop.engine",))
    assert check(together, tmp_path) == []


def test_a_forbidden_import_inside_a_function(tmp_path, capsys):
    store = """\
        def save() -> None:
            from fastapi import HTTPException
    """
    config = write(tmp_path, {"shop/store.py": store}) / "pyproject.toml"
    assert main(["--config", str(config), "shop"]) == 1
    assert capsys.readouterr().out == (
        "shop: forbidden import: shop.store must not import fastapi\n"
        "  shop.store -> fastapi\n"
        "    shop/store.py:2: from fastapi import HTTPException  (inside a function)\n"
        "\n"
        "shop (shop): 1 violation(s)\n"
    )


def test_every_way_a_forbidden_module_is_reached_is_shown(tmp_path, capsys):
    changes = {
        "shop/store.py": "from shop import config, helpers\n",
        "shop/helpers.py": "from shop.config import DEBUG\n",
    }
    assert main(["--config", str(write(tmp_path, changes) / "pyproject.toml")]) == 1
    assert capsys.readouterr().out.splitlines()[:8] == [
        "shop: forbidden import: shop.store must not import shop.config, 2 ways:",
        "  (1) shop.store -> shop.config",
        "    shop.store -> shop.config",
        "      shop/store.py:1: from shop import config",
        "  (2) shop.store -> shop.helpers -> shop.config",
        "    shop.store -> shop.helpers",
        "      shop/store.py:1: from shop import helpers",
        "    shop.helpers -> shop.config",
    ]


def test_a_name_the_contract_gives_that_matches_nothing_is_reported(tmp_path):
    assert reports(tmp_path, {}, layers=("shop.web", "shop.ledger")) == [
        "no such module: shop.ledger (named in the contract, absent from shop)"
    ]


def test_module_nodes_tell_a_submodule_from_a_name_of_its_package(tmp_path):
    changes = {
        "shop/__init__.py": "from shop.web import page\n",
        "shop/web.py": "from shop import store, VERSION\n",
    }
    contract = Contract("shop", write(tmp_path, changes) / "shop", "shop", "modules")
    (found,) = check(contract, tmp_path)
    assert found.splitlines() == [
        "import cycle: shop -> shop.web -> shop",
        "  shop -> shop.web",
        "    shop/__init__.py:1: from shop.web import page",
        "  shop.web -> shop",
        "    shop/web.py:1: from shop import VERSION",
    ]


def test_an_unknown_graph_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        main(["--config", str(write(tmp_path, {}) / "pyproject.toml"), "nope"])
