"""The shape of the house: data flows one way, and each layer imports only what lies below it.

Checked statically (the import statements of every module, parsed with ``ast``) and, for the pure
packages, by importing them in a fresh interpreter and looking at what got loaded.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def modules_of(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def _offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        for name in sorted(imported_modules(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_the_import_check_sees_imports():
    # The checks below pass by finding nothing; this one shows they would find something.
    found = _offending([ROOT / "karte/views/pages.py"], ("django", "karte.layers"))
    assert "karte/views/pages.py imports django.shortcuts" in found
    assert any(line.endswith("imports karte.layers") for line in found)
    assert "karte.views.context" in imported_modules(ROOT / "karte/views/pages.py")  # `from . import context`


@pytest.mark.parametrize("folder", ["spatial", "loaders"])
def test_pure_packages_import_no_django_and_nothing_of_karte(folder):
    assert modules_of(folder), folder
    assert _offending(modules_of(folder), ("django", "karte", "participation")) == []


def test_layers_import_nothing_from_the_layers_above():
    above = ("karte.views", "karte.api", "karte.export", "karte.printing", "karte.templatetags", "participation")
    assert modules_of("karte/layers")
    assert _offending(modules_of("karte/layers"), above) == []


def test_karte_imports_nothing_of_participation():
    # participation reads karte (karte.layers, karte.models, karte.importers.contributed) and adds to
    # it through karte.layers.extensions; karte never imports it back.
    assert _offending(modules_of("karte"), ("participation",)) == []


def test_karte_names_participation_only_in_the_project_wiring():
    # The project's settings (INSTALLED_APPS) and root URLconf are where apps are put together;
    # nowhere else in karte (code or templates) may the word appear.
    wiring = {ROOT / "karte/settings.py", ROOT / "karte/urls.py"}
    files = [p for p in (ROOT / "karte").rglob("*") if p.suffix in {".py", ".html", ".js", ".css"}
             and "migrations" not in p.parts and p not in wiring]
    assert files
    assert [str(p.relative_to(ROOT)) for p in files if "participation" in p.read_text(encoding="utf-8")] == []


def test_participation_reads_karte_through_its_public_functions():
    # Not karte's pages, API views or its siting service: the read side, the models, the one write
    # path for contributed resources, the printed karte and the API's parameter helpers.
    forbidden = ("karte.views.pages", "karte.api.views", "karte.siting", "karte.compute", "karte.layers.frames")
    assert modules_of("participation")
    assert _offending(modules_of("participation"), forbidden) == []


@pytest.mark.parametrize("module", ["karte/layers/encoding.py", "karte/layers/errors.py", "karte/layers/placenames.py",
                                    "karte/charts.py", "karte/pyramid.py"])
def test_encoding_and_errors_are_pure(module):
    assert _offending([ROOT / module], ("django", "karte.models", "karte.layers.lookups")) == []


def test_lower_layers_never_import_the_read_side_above_lookups():
    # The write side (importers, compute) and the spatial bridge may find a city through the one
    # lookup (karte.layers.lookups) but nothing else of the read side.
    paths = modules_of("karte/importers") + [ROOT / "karte/compute.py", ROOT / "karte/layers/frames.py",
                                             ROOT / "karte/siting.py", ROOT / "karte/candidates.py"]
    forbidden = ("karte.layers.collections", "karte.layers.report", "karte.layers.catalogue", "karte.views",
                 "karte.api", "karte.export", "karte.printing")
    assert _offending(paths, forbidden) == []


def test_pure_modules_load_no_django_when_imported():
    # Importing karte.layers.encoding through its package would run karte/layers/__init__.py (which
    # reads the models); load the pure files as stand-alone modules to see what they pull in.
    code = (
        "import sys, importlib.util, types\n"
        "import spatial.interpolation, spatial.siting, spatial.compare, loaders.census, loaders.boundaries\n"
        "pkg = types.ModuleType('purecheck'); pkg.__path__ = ['karte/layers']; sys.modules['purecheck'] = pkg\n"
        "for name in ('errors', 'encoding', 'placenames'):\n"
        "    spec = importlib.util.spec_from_file_location('purecheck.' + name, f'karte/layers/{name}.py')\n"
        "    module = importlib.util.module_from_spec(spec); sys.modules[spec.name] = module\n"
        "    spec.loader.exec_module(module)\n"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith(('django.', 'karte'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
