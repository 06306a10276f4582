"""The package's layers import only downwards: the pure core, then the backends, then the domains in data order."""

import ast
from pathlib import Path

import favorita_assets

# The package as imported: the repository's in a checkout, the installed one in the image's self-test.
PACKAGE = Path(favorita_assets.__file__).resolve().parent
DOMAINS = ["ingest", "series", "modeling", "publishing", "decisions"]  # each may use the ones before it
ABOVE_BACKENDS = {*DOMAINS, "automation", "definitions", "cli", "pipeline", "topology", "checks"}


def imports_of(folder: str) -> dict[str, set[str]]:
    """Each module of ``folder``: the favorita_assets subpackages and modules it imports, wherever the import is."""
    found = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] != "favorita_assets":
                    names.add(f"third-party:{parts[0]}")
                else:
                    names.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    names.add(parts[1] if parts[0] == "favorita_assets" else f"third-party:{parts[0]}")
        found[path.relative_to(PACKAGE).as_posix()] = names
    return found


def test_the_core_imports_only_itself_and_neither_dagster_nor_boto3():
    for module, names in imports_of("core").items():
        ours = {n for n in names if not n.startswith("third-party:")}
        assert ours <= {"core"}, f"{module} imports {ours - {'core'}}"
        assert not names & {"third-party:dagster", "third-party:boto3"}, f"{module} imports dagster or boto3"


def test_the_backends_import_no_domain():
    for folder in ("resources", "aws"):
        for module, names in imports_of(folder).items():
            assert not names & ABOVE_BACKENDS, f"{module} imports {names & ABOVE_BACKENDS}: that runs up the layers"


def test_each_domain_imports_only_the_domains_before_it():
    for i, domain in enumerate(DOMAINS):
        later = set(DOMAINS[i + 1 :])
        for module, names in imports_of(domain).items():
            assert not names & later, f"{module} imports {names & later}, a later domain"


def test_the_scan_sees_an_import_against_the_layering(tmp_path, monkeypatch):
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "bad.py").write_text("def f():\n    from favorita_assets.series.assets import x\n")
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "bad.py").write_text("import boto3\nfrom favorita_assets import storage_keys\n")
    monkeypatch.setitem(globals(), "PACKAGE", tmp_path)
    assert imports_of("resources") == {"resources/bad.py": {"series"}}
    assert imports_of("core") == {"core/bad.py": {"third-party:boto3", "storage_keys"}}
