"""The package's layers import one way: data → analysis → briefing → render → pipeline → cli.

A module may import from its own layer and the layers below it, never from a layer above (checked on
the source with ``ast``, lazy imports inside functions included). ``errors`` and ``registry`` are
shared by every layer and import nothing of the package but ``errors``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import papi_research

PACKAGE = Path(papi_research.__file__).resolve().parent
LAYERS = ("errors", "data", "analysis", "briefing", "render", "pipeline", "cli")
SHARED = {"errors": 0, "registry": 0, "__init__": 0, "__main__": len(LAYERS) - 1}


def layer_of(module: str) -> int:
    """The layer of ``papi_research.<part>...``."""
    part = module.split(".")[1] if "." in module else "__init__"
    if part in SHARED:
        return SHARED[part]
    return LAYERS.index(part)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = ".".join(rel.parts[:-1]) if path.name != "__init__.py" else ".".join(rel.parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod == "papi_research":  # from papi_research import __version__ / a subpackage
                found += [(node.lineno, f"papi_research.{a.name}") for a in node.names if a.name != "__version__"]
            elif mod.startswith("papi_research."):
                found.append((node.lineno, mod))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("papi_research.")]
    return found


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts)


def violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        mine = layer_of(me)
        for line, mod in imported_modules(path):
            if layer_of(mod) > mine:
                out.append(f"{path.relative_to(PACKAGE)}:{line} ({LAYERS[mine] if mine < len(LAYERS) else me}) "
                           f"imports {mod} ({LAYERS[layer_of(mod)]})")
    return out


def test_imports_go_one_way():
    assert violations() == []


def test_every_module_belongs_to_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))  # raises ValueError for a module outside the layers


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The check can fail: an analysis module importing a briefing module is reported."""
    fake = tmp_path / "papi_research" / "analysis"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("def f():\n    from papi_research.briefing.province import build\n")
    (tmp_path / "papi_research" / "__init__.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "papi_research")
    assert violations() == ["analysis/bad.py:2 (analysis) imports papi_research.briefing.province (briefing)"]
