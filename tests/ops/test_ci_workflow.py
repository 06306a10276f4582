"""The CI workflow and .ci/run run the README's test command, and then the production checks."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_the_ci_workflow_runs_the_readme_test_command_with_terraform():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    assert any(step.get("run") == "make test" for step in steps)
    assert any(str(step.get("uses", "")).startswith("hashicorp/setup-terraform") for step in steps)
    assert "make test" in (REPO / "README.md").read_text() and "make test" in (REPO / ".ci" / "run").read_text()
    assert any(step.get("run") == "make test-production" for step in steps)
    assert "make test-production" in (REPO / ".ci" / "run").read_text()
