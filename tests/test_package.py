"""Layering: the math imports fast and without torch, transformers or streamlit; only the
page package draws; only the model adapter reads a model with torch."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, in either form (``import a.b``, ``from a.b import c``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def imports(path: Path, package: str) -> bool:
    return any(m == package or m.startswith(f"{package}.") for m in imported_modules(path))


def test_imported_modules_sees_both_import_forms(tmp_path):
    plain, named = tmp_path / "plain.py", tmp_path / "named.py"
    plain.write_text("def f():\n    import streamlit.components.v1\n")
    named.write_text("from streamlit import cache_data\n")
    assert imports(plain, "streamlit") and imports(named, "streamlit")
    assert not imports(named, "stream")


def test_import_attn_core_leaves_heavy_modules_out():
    code = (
        "import sys, attn_core, attn_core.attention, attn_core.reduce, attn_core.projections;"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'streamlit',"
        " 'sklearn', 'altair') if m in sys.modules];"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_engine_never_imports_streamlit_or_the_page():
    engine = list(ROOT.joinpath("attn_core").rglob("*.py"))
    assert len(engine) > 10  # the charts package included
    for path in engine:
        assert not imports(path, "streamlit"), path
        assert not imports(path, "app"), path


def test_only_the_page_package_imports_streamlit():
    """Besides dashboard.py, only app/ draws; its links module stays plain Python."""
    for path in ROOT.rglob("*.py"):
        where = path.relative_to(ROOT).parts
        if where[0] in ("tests", "bench", "app") or path.name == "dashboard.py":
            continue
        assert not imports(path, "streamlit"), path
    assert not imports(ROOT / "app" / "links.py", "streamlit")


def test_only_the_model_adapter_imports_torch():
    """The model adapter reads folders the numpy encoder does not; nothing else touches
    torch, transformers or sentence-transformers (training writes its gradient out)."""
    for path in [*ROOT.joinpath("attn_core").rglob("*.py"), *ROOT.joinpath("app").rglob("*.py")]:
        if path.name != "model.py" or path.parent.name != "attn_core":
            for heavy in ("sentence_transformers", "transformers", "torch"):
                assert not imports(path, heavy), path


def test_no_module_is_too_long_to_read():
    """The page reads like a table of contents; no module grows past one idea's length."""
    assert len(ROOT.joinpath("dashboard.py").read_text().splitlines()) <= 150
    for folder in ("attn_core", "app"):
        for pattern in ("*.py", "*.mjs", "*.js"):
            for path in ROOT.joinpath(folder).rglob(pattern):
                assert len(path.read_text().splitlines()) <= 350, path


def test_nothing_the_page_runs_imports_torch():
    """Contextual vectors, a trained head, every head and training, in a fresh process."""
    code = textwrap.dedent(
        """
        import sys
        import attn_core
        model = attn_core.load_model()
        emb = attn_core.embed("the river bank", kind="contextual", model=model)
        head = attn_core.model_head("the river bank", layer=2, head=7, model=model)
        heads = attn_core.all_heads("the river bank", model=model)
        start = attn_core.random_projections(384, 8, seed=0)
        target = attn_core.previous_token_target(5)
        run = attn_core.train_projections(emb.vectors, target, start, steps=3)
        heavy = [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]
        print(emb.vectors.shape, head.weights.shape, heads.weights.shape, run.steps, heavy)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "(5, 384) (5, 5) (6, 12, 5, 5) 3 []"


def test_no_module_imports_another_modules_private_names():
    """A helper used across modules is public, in the module its idea belongs to."""
    folders = ("attn_core", "app", "bench", "tests")
    paths = [ROOT / "dashboard.py", *(p for f in folders for p in ROOT.joinpath(f).rglob("*.py"))]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(folders):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.relative_to(ROOT)}:{node.lineno} imports {private}"


def test_arrays_are_checked_in_one_place():
    """Outside attn_core.validation, no branch raises on an array's dimensions or finiteness:
    the engine's edge checks arrays with ``check_array`` and its message style."""
    for path in ROOT.joinpath("attn_core").rglob("*.py"):
        if path.name == "validation.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.If):
                continue
            raises = any(isinstance(n, ast.Raise) for stmt in node.body for n in ast.walk(stmt))
            tested = {n.attr for n in ast.walk(node.test) if isinstance(n, ast.Attribute)}
            tested |= {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
            assert not (raises and tested & {"ndim", "isfinite"}), f"{path}:{node.lineno}"
