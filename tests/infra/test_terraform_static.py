"""infra/terraform without AWS: formatted, every root initialises from the provider mirror and validates, checkov finds
nothing that is not suppressed next to the resource with a reason, and the conventions of ../STYLE hold (four files
per module, every variable typed and described, outputs for every setting the Dagster aws deployment reads)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from favorita_assets.settings import AWS_SETTINGS
from infra.terraform import INFRA, ROOTS, Terraform, checkov_binary

pytestmark = pytest.mark.terraform

MODULE_FILES = {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}


def blocks(kind: str, text: str) -> dict[str, str]:
    """Top-level ``kind "name" { ... }`` blocks of a file (terraform fmt puts their closing brace in column 0)."""
    return dict(re.findall(rf'^{kind} "([\w-]+)" \{{\n(.*?)^\}}', text, flags=re.S | re.M))


def test_terraform_is_formatted(terraform_bin, tmp_path):
    Terraform(terraform_bin, tmp_path).run(".", "fmt", "-check", "-recursive", "-diff")


@pytest.mark.parametrize("root", ROOTS)
def test_root_initialises_offline_and_validates(terraform_bin, tmp_path, root):
    tf = Terraform(terraform_bin, tmp_path)
    tf.init(root, backend=False)
    assert "Success! The configuration is valid." in tf.run(root, "validate", "-no-color").stdout


def test_checkov_finds_nothing_unexplained():
    result = subprocess.run(
        [str(checkov_binary()), "-d", str(INFRA), "--framework", "terraform", "-o", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    failed = report["results"]["failed_checks"]
    assert not failed, "\n".join(
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})" for c in failed
    )
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 30, f"{skipped['check_id']} on {skipped['resource']} is suppressed without a reason"


def test_every_module_has_its_four_files_and_pins_terraform_and_the_provider():
    dirs = [p for p in (INFRA / "modules").iterdir() if p.is_dir()] + [INFRA / "envs" / r for r in ROOTS]
    assert len(dirs) >= 7
    for folder in dirs:
        assert {p.name for p in folder.glob("*.tf")} >= MODULE_FILES, folder
        versions = (folder / "versions.tf").read_text()
        assert 'required_version = ">= 1.5.0"' in versions and 'version = "~> 5.0"' in versions, folder


def test_every_variable_is_typed_and_described():
    count = 0
    for path in INFRA.rglob("variables.tf"):
        for name, body in blocks("variable", path.read_text()).items():
            count += 1
            assert re.search(r"^  type\s+=", body, re.M), f"{path}: variable {name} has no type"
            assert re.search(r'^  description\s+= "\S', body, re.M), f"{path}: variable {name} has no description"
    assert count > 40


@pytest.mark.parametrize("root", ROOTS)
def test_root_outputs_every_setting_the_aws_deployment_reads(root):
    outputs = blocks("output", (INFRA / "envs" / root / "outputs.tf").read_text())
    wanted = {s.terraform_output for s in AWS_SETTINGS if s.terraform_output}
    assert wanted <= set(outputs), f"envs/{root} lacks outputs {sorted(wanted - set(outputs))}"
    backend = (INFRA / "envs" / root / "versions.tf").read_text()
    assert 'backend "s3" {}' in backend and (INFRA / "envs" / root / "backend.hcl.example").is_file()


def test_bucket_policies_deny_insecure_transport_unless_turned_off():
    """The statement is there by default; the emulator test turns it off through the variable, so guard both."""
    storage = (INFRA / "modules" / "storage" / "main.tf").read_text()
    assert storage.count('variable = "aws:SecureTransport"') == 2  # data buckets and the access-log bucket
    assert storage.count("var.enforce_secure_transport ?") == 2
    for root in ROOTS:
        variables = blocks("variable", (INFRA / "envs" / root / "variables.tf").read_text())
        assert re.search(r"^  default\s+= true$", variables["enforce_secure_transport"], re.M)


MODULES_WITH_TESTS = sorted(p.parent.parent.name for p in (INFRA / "modules").glob("*/tests/*.tftest.hcl"))


@pytest.mark.parametrize("module", MODULES_WITH_TESTS)
def test_terraform_test_holds_the_modules_promises_against_a_mocked_provider(terraform_bin, tmp_path, module):
    """`terraform test` with `mock_provider "aws"`: no account, no emulator (modules/<module>/tests/*.tftest.hcl)."""
    from infra.terraform import plugin_dir

    tf = Terraform(terraform_bin, tmp_path)
    folder = tf.tree / "modules" / module
    mirror = plugin_dir()
    tf.run(folder, "init", "-input=false", "-no-color", *([f"-plugin-dir={mirror}"] if mirror else []))
    result = tf.run(folder, "test", "-no-color")
    runs = re.findall(r'run "(\w+)"\.\.\. (\w+)', result.stdout)
    declared = re.findall(
        r'^run "(\w+)"', "".join(p.read_text() for p in (folder / "tests").glob("*.tftest.hcl")), re.M
    )
    assert len(declared) >= 2 and sorted(name for name, _ in runs) == sorted(declared), result.stdout
    assert all(status == "pass" for _, status in runs), result.stdout
    assert re.search(r"Success! \d+ passed, 0 failed", result.stdout)


def test_the_dagster_tasks_get_every_setting_the_aws_deployment_reads_from_terraform():
    """envs/dev hands the code server and the runs the same settings `favorita aws-settings` writes from its outputs."""
    main = (INFRA / "envs" / "dev" / "main.tf").read_text()
    (environment,) = re.findall(r"platform_environment = \{\n(.*?)\n  \}", main, flags=re.S)
    given = set(re.findall(r"^\s+(FAVORITA_\w+)\s+=", environment, flags=re.M))
    wanted = {s.env for s in AWS_SETTINGS if s.terraform_output}
    assert wanted <= given, f"the Dagster tasks lack {sorted(wanted - given)}"


def test_every_module_has_a_readme_with_an_example():
    for folder in (p for p in (INFRA / "modules").iterdir() if p.is_dir()):
        readme = folder / "README.md"
        assert readme.is_file(), f"{folder.name} has no README.md"
        assert 'source = "../' in readme.read_text(), f"{folder.name}/README.md has no example calling the module"


def test_every_name_prefix_the_dev_root_accepts_makes_names_the_dagster_module_accepts():
    """envs/dev appends -dev to name_prefix and hands the result to the dagster module as its name: a prefix the root
    accepts must never be refused there (after half an apply)."""
    root = blocks("variable", (INFRA / "envs" / "dev" / "variables.tf").read_text())["name_prefix"]
    module = blocks("variable", (INFRA / "modules" / "dagster" / "variables.tf").read_text())["name"]
    (prefix_rule,) = re.findall(r'regex\("(.+?)", var\.name_prefix\)', root)
    (name_rule,) = re.findall(r'regex\("(.+?)", var\.name\)', module)
    candidates = ["fa", "favorita", "a" * 19 + "b", "a" * 20 + "b", "a" * 25, "f-", "favorita-", "x1-2"]
    accepted = [p for p in candidates if re.fullmatch(prefix_rule, p)]
    assert "a" * 19 + "b" in accepted and "fa" in accepted
    refused = [p for p in accepted if not re.fullmatch(name_rule, f"{p}-dev")]
    assert refused == []
