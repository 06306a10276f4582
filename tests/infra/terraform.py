"""Running terraform and checkov from the tests: where they are, and a copy of infra/terraform to run them in.

- ``terraform``: from PATH (``FAVORITA_TERRAFORM`` overrides). The tests that need it skip, saying so, only when it is
  absent.
- The hashicorp/aws provider: a filesystem mirror given by ``FAVORITA_TF_PLUGIN_DIR`` (the folder holding
  ``registry.terraform.io/hashicorp/aws/...``), else the first of Terraform's usual mirror folders that holds it, else
  the public registry (``FAVORITA_TF_PLUGIN_DIR=registry`` forces that).
- ``checkov``: ``FAVORITA_CHECKOV``, else ``.venv-checkov/bin/checkov`` (``make setup`` installs it there, in its own
  virtual environment, because its pins clash with the project's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra" / "terraform"
ROOTS = sorted(p.name for p in (INFRA / "envs").iterdir() if (p / "main.tf").is_file())
MIRROR_CANDIDATES = (
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path("/opt/tf-plugins"),
    Path("/opt/terraform/plugins"),
)
AWS_PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"


def terraform_binary() -> str | None:
    return os.environ.get("FAVORITA_TERRAFORM") or shutil.which("terraform")


def plugin_dir() -> Path | None:
    """The provider mirror to init from, or None for the public registry."""
    configured = os.environ.get("FAVORITA_TF_PLUGIN_DIR", "").strip()
    if configured == "registry":
        return None
    if configured:
        path = Path(configured).expanduser()
        if not (path / AWS_PROVIDER).is_dir():
            raise FileNotFoundError(
                f"FAVORITA_TF_PLUGIN_DIR={configured} holds no {AWS_PROVIDER}; point it at the folder that does "
                "(find / -name 'terraform-provider-aws*'), or set it to 'registry'"
            )
        return path
    return next((p for p in MIRROR_CANDIDATES if (p / AWS_PROVIDER).is_dir()), None)


def checkov_binary() -> Path:
    configured = os.environ.get("FAVORITA_CHECKOV")
    path = Path(configured) if configured else REPO / ".venv-checkov" / "bin" / "checkov"
    if not path.is_file():
        raise FileNotFoundError(
            f"checkov is not at {path}: run `make setup` (installs it into .venv-checkov from "
            "infra/checkov-requirements.txt) or set FAVORITA_CHECKOV"
        )
    return path


class Terraform:
    """terraform in a private copy of infra/terraform (so .terraform/ and state never land in the repository)."""

    def __init__(self, binary: str, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.tree = workdir / "terraform"
        shutil.copytree(
            INFRA, self.tree, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
        )
        self.env = {
            **os.environ,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": "",
            "NO_COLOR": "1",
            **(env or {}),
        }

    def root(self, name: str) -> Path:
        return self.tree / "envs" / name

    def run(self, root: str | Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        cwd = self.tree if root == "." else self.root(str(root))
        result = subprocess.run(
            [self.binary, *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} in {cwd} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def init(self, root: str, backend: bool = True) -> None:
        mirror = plugin_dir()
        args = (
            ["init", "-input=false", "-no-color"]
            + ([f"-plugin-dir={mirror}"] if mirror else [])
            + ([] if backend else ["-backend=false"])
        )
        self.run(root, *args)

    def output(self, root: str) -> dict:
        return json.loads(self.run(root, "output", "-json").stdout)


def emulator_override(endpoint: str) -> str:
    """A test-only ``*_override.tf``: local state, and every AWS service of the stack sent to ``endpoint``."""
    services = [
        "athena",
        "cloudwatch",
        "cloudwatchlogs",
        "ec2",
        "ecr",
        "ecs",
        "elbv2",
        "eventbridge",
        "glue",
        "iam",
        "kms",
        "quicksight",
        "rds",
        "s3",
        "sagemaker",
        "scheduler",
        "secretsmanager",
        "servicediscovery",
        "sfn",
        "sns",
        "sqs",
        "sts",
    ]
    lines = "\n".join(f'    {s} = "{endpoint}"' for s in services)
    return f"""terraform {{
  backend "local" {{}}
}}

provider "aws" {{
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {{
{lines}
  }}
}}
"""


# What moto 5.2 answers differently from AWS, so that a plan right after apply is not empty on the emulator.
def emulator_quirk(change: dict, attribute: str) -> bool:
    before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
    if change["type"] == "aws_s3_bucket_notification" and attribute == "eventbridge":
        return True  # moto delivers the events (test_events_reach_the_queue) but never returns EventBridgeConfiguration
    if change["type"] == "aws_sqs_queue" and attribute == "redrive_policy":
        return json.loads(before[attribute]) == json.loads(after[attribute])  # moto adds spaces to the JSON
    if change["type"] == "aws_sqs_queue_policy" and attribute == "policy":
        return change["change"]["after_unknown"].get("policy") is True  # re-read because its queue is "updated"
    return False


def planned_changes(plan: dict) -> list[tuple[str, str]]:
    """(resource address, attribute) of every change in a ``terraform show -json`` plan, less the emulator's quirks."""
    found = []
    for change in plan["resource_changes"]:
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        if actions != ["update"]:
            found.append((change["address"], "/".join(actions)))
            continue
        before, after = change["change"]["before"], change["change"]["after"]
        unknown = change["change"]["after_unknown"]
        for attribute in sorted(set(before) | set(after)):
            if (before.get(attribute) != after.get(attribute) or unknown.get(attribute) is True) and not emulator_quirk(
                change, attribute
            ):
                found.append((change["address"], attribute))
    return found


def plan_json(stack, tmp_path, *args: str) -> dict:
    plan = tmp_path / "plan.bin"
    stack.tf.run("dev", "plan", "-no-color", "-input=false", f"-out={plan}", *args)
    return json.loads(stack.tf.run("dev", "show", "-json", str(plan)).stdout)
