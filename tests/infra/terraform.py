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
        shutil.copytree(INFRA, self.tree, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"))
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
        result = subprocess.run([self.binary, *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} in {cwd} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def init(self, root: str, backend: bool = True) -> None:
        mirror = plugin_dir()
        args = ["init", "-input=false", "-no-color"] + ([f"-plugin-dir={mirror}"] if mirror else []) + ([] if backend else ["-backend=false"])
        self.run(root, *args)

    def output(self, root: str) -> dict:
        return json.loads(self.run(root, "output", "-json").stdout)


def emulator_override(endpoint: str) -> str:
    """A test-only ``*_override.tf``: local state, and every AWS service of the stack sent to ``endpoint``."""
    services = ["athena", "cloudwatch", "cloudwatchlogs", "eventbridge", "glue", "iam", "kms", "s3", "sagemaker", "scheduler",
                "sns", "sqs", "sts"]  # fmt: skip
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
