"""The import rules of DESIGN.md are import-linter contracts (pyproject.toml) that `make test`
runs. These tests prove the contracts hold on the tree and that they bite: a copy of the tree with
one forbidden import added fails the check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("elium_portal", "scim_api", "provisioning")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)},
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract():
    result = _lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "forbidden_import", "contract"),
    [
        ("provisioning/_probe.py", "import scim_api.models", "never imports scim_api"),
        ("scim_api/_probe.py", "import provisioning.models", "scim_api never imports provisioning"),
        ("elium_portal/_probe.py", "import scim_api.models", "elium_portal core imports neither"),
        ("elium_portal/models_probe.py", "import elium_portal.views", "elium_portal in layers"),
        ("scim_api/schema_probe.py", "import scim_api.api.base", "scim_api in layers"),
        ("provisioning/engine/_probe.py", "import provisioning.services.jobs", "provisioning in"),
    ],
)
def test_a_forbidden_import_breaks_the_build(tree_copy, module, forbidden_import, contract):
    # A probe module below a layer is only checked if a module of that layer imports it.
    probe = tree_copy / module
    probe.write_text(forbidden_import + "\n")
    owner = {
        "elium_portal/models_probe.py": "elium_portal/models.py",
        "scim_api/schema_probe.py": "scim_api/schema.py",
    }.get(module)
    if owner:
        path = tree_copy / owner
        path.write_text(path.read_text() + f"\nimport {module[:-3].replace('/', '.')}  # noqa\n")

    result = _lint_imports(tree_copy)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert contract in " ".join(result.stdout.split())
