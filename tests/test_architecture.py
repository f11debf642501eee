"""The engine's shape, checked from its import graph (imports inside functions included): no cycles, no
Streamlit or UI module under core/, arrows only pointing down the layers of core/, and every import written
inside a function declared lazy with its reason."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# core/'s layers, bottom first: a module may import its own layer and the layers below it, never above.
LAYERS = ("storage", "data", "models", "analysis", "experiments", "tools")
UI_PACKAGES = ("pages", "ui", "app", "streamlit")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> list[tuple[str, int, bool]]:
    """(imported module or module.name, line, inside a function) for every import in the file; relative
    imports are resolved against the file's package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    inside: set[int] = set()
    for f in ast.walk(tree):
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {id(n) for n in ast.walk(f)}
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            out += [(a.name, n.lineno, id(n) in inside) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                base = ".".join(package[:len(package) - n.level + 1] + ([base] if base else []))
            out += [(base, n.lineno, id(n) in inside)]
            out += [(f"{base}.{a.name}", n.lineno, id(n) in inside) for a in n.names]
    return out


def graph(root: Path) -> tuple[dict[str, set[str]], dict[str, Path]]:
    """Arrows between the project's own modules (core, pages, ui, app), and each module's file."""
    files = [p for d in ("core", "pages", "ui") for p in (root / d).rglob("*.py")] + \
        [p for p in [root / "app.py"] if p.exists()]
    mods = {module_name(p, root): p for p in files}
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for name, _, _ in imports(p, root):
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name and name != m:
                edges[m].add(name)
    return edges, mods


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[0] == "core" and parts[1] in LAYERS else None


def upward_arrows(edges: dict[str, set[str]]) -> list[str]:
    """Arrows from a core/ layer to a layer above it, or from core/ to the UI."""
    bad = []
    for a, targets in edges.items():
        for b in targets:
            if a.startswith("core") and b.split(".")[0] in UI_PACKAGES:
                bad.append(f"{a} -> {b} (engine imports the UI)")
            elif layer(a) is not None and layer(b) is not None and layer(b) > layer(a):
                bad.append(f"{a} -> {b} ({LAYERS[layer(a)]} imports {LAYERS[layer(b)]})")
    return sorted(bad)


def undeclared_lazy_imports(root: Path) -> list[str]:
    """Imports written inside a function without a reason: a `# lazy: why` comment on the import's line, or
    a `# lazy imports: why` line in the file's header for a module whose every import is deferred."""
    bad = []
    for p in [p for d in ("core", "pages", "ui") for p in (root / d).rglob("*.py")]:
        lines = p.read_text(encoding="utf-8").split("\n")
        header = any(line.startswith("# lazy imports: ") for line in lines[:15])
        for name, lineno, inside in imports(p, root):
            if inside and not header and "# lazy: " not in lines[lineno - 1]:
                bad.append(f"{p.relative_to(root)}:{lineno} ({name})")
    return sorted(set(bad))


def test_the_engine_has_no_import_cycle_and_no_ui():
    edges, mods = graph(ROOT)
    assert cycles(edges) == []
    assert upward_arrows(edges) == []
    streamlit = [m for m, p in mods.items() if m.startswith("core")
                 and any(n.split(".")[0] == "streamlit" for n, _, _ in imports(p, ROOT))]
    assert streamlit == []


def test_every_core_module_sits_in_a_layer():
    """A newcomer reads the architecture from the folder names: nothing floats beside the layers."""
    loose = [p.name for p in (ROOT / "core").glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert loose == []
    assert sorted(d.name for d in (ROOT / "core").iterdir() if d.is_dir() and d.name != "__pycache__") == sorted(LAYERS)


def test_imports_inside_functions_say_why():
    assert undeclared_lazy_imports(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return tmp_path


@pytest.mark.parametrize("files, what", [
    ({"core/data/a.py": "def f():\n    from core.data.b import y  # lazy: x\n", "core/data/b.py": "from core.data import a\n",
      "core/__init__.py": "", "core/data/__init__.py": ""}, "cycle"),
    ({"core/storage/a.py": "from core.models.m import X\n", "core/models/m.py": "X = 1\n",
      "core/__init__.py": "", "core/storage/__init__.py": "", "core/models/__init__.py": ""}, "upward"),
    ({"core/analysis/a.py": "from pages import helper\n", "pages/__init__.py": "helper = 1\n",
      "core/__init__.py": "", "core/analysis/__init__.py": ""}, "ui"),
    ({"core/analysis/a.py": "def f():\n    from core.data.t import x\n", "core/data/t.py": "x = 1\n",
      "core/__init__.py": "", "core/analysis/__init__.py": "", "core/data/__init__.py": ""}, "lazy"),
])
def test_the_checks_catch_what_they_are_for(tmp_path, files, what):
    """Known answers: a designed tree with exactly one defect of each kind is caught, by the right check."""
    root = _tree(tmp_path, files)
    edges, _ = graph(root)
    found = {"cycle": bool(cycles(edges)), "upward": any("imports models" in a for a in upward_arrows(edges)),
             "ui": any("imports the UI" in a for a in upward_arrows(edges)), "lazy": bool(undeclared_lazy_imports(root))}
    assert found[what]
    assert [k for k, v in found.items() if v and k != what] == []
