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


def test_lint_runs_before_the_tests_in_the_workflow_and_in_ci_run():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    runs = [step.get("run") for step in workflow["jobs"]["test"]["steps"]]
    assert "make lint" in runs and runs.index("make lint") < runs.index("make test")
    commands = (REPO / ".ci" / "run").read_text().splitlines()
    assert "make lint" in commands and commands.index("make lint") < commands.index("make test")
    makefile = (REPO / "Makefile").read_text()
    lint = makefile[makefile.index("\nlint:") :].split("\n\n")[0]
    assert "ruff format --check" in lint and "ruff check" in lint and "mypy" in lint


WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def test_zizmor_finds_nothing_in_the_workflow():
    import shutil
    import subprocess
    import sys
    from pathlib import Path as _Path

    zizmor = shutil.which("zizmor", path=str(_Path(sys.executable).parent)) or shutil.which("zizmor")
    assert zizmor, "zizmor is a dev dependency (pyproject.toml): `make setup` installs it"
    result = subprocess.run(
        [zizmor, "--offline", "--format", "plain", str(WORKFLOW)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "No findings to report" in result.stdout + result.stderr


def test_every_action_is_pinned_to_a_commit_and_only_the_deploy_job_gets_an_oidc_token():
    import re

    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    assert workflow["permissions"] == {"contents": "read"}
    assert "permissions" not in workflow["jobs"]["test"]
    assert workflow["jobs"]["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert workflow["jobs"]["deploy"]["environment"] == "production"
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    assert not re.search(r"aws-(access-key-id|secret-access-key)", text)  # OIDC only, no stored keys


def test_the_deploy_job_builds_pushes_and_deploys_the_sha_through_the_deploy_script():
    steps = {
        s.get("name", s.get("uses", "")): s for s in yaml.safe_load(WORKFLOW.read_text())["jobs"]["deploy"]["steps"]
    }
    build = next(s["run"] for n, s in steps.items() if n.startswith("Build and push"))
    assert 'docker push "$repository:$IMAGE_SHA"' in build and "image-present" in build
    deploy = next(s["run"] for n, s in steps.items() if n.startswith("Deploy"))
    assert deploy == (
        'python infra/deploy/deploy_dagster.py deploy --root "$TF_ROOT" --var-file "$TF_VAR_FILE" '
        '--image-tag "$IMAGE_SHA"'
    )
    assert (REPO / "infra" / "deploy" / "deploy_dagster.py").is_file()
