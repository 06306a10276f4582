"""Production Dagster on one machine: PostgreSQL, the code server, the daemon and the webserver, each its own process,
all on the production instance (infra/dagster/dagster.yaml). ``favorita prod-local start|stop|status``.

Layout under ``root`` (default ``var/prod``):

    pg/data, pg/run, pg/postgres.log   the PostgreSQL cluster, its socket and its log (owned by `postgres` as root;
                                       where that user cannot enter root, under /var/tmp/favorita-pg-<hash>,
                                       named in pg/cluster_location)
    dagster_home/dagster.yaml          a copy of infra/dagster/dagster.yaml (the instance of every process)
    workspace.yaml                     where the daemon and the webserver find the code server (a copy)
    logs/<process>.log                 each process's output; compute_logs/ holds each run's stdout/stderr
    state.json                         ports and process-group ids, so ``stop`` finds everything it started

The database password is made at each start and lives only in the processes' environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "infra" / "dagster"
INSTANCE_CONFIG = CONFIG_DIR / "dagster.yaml"  # the production instance
WORKSPACE = CONFIG_DIR / "workspace.yaml"  # the code server's address, from DAGSTER_CODE_SERVER_HOST/PORT
LOCATION = "favorita"
PROCESSES = ("code_server", "daemon", "webserver")  # started in this order, stopped in reverse
DB_USER = "dagster"
DB_NAME = "dagster"


class TopologyError(RuntimeError):
    """A process of the topology could not be started, with what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: FAVORITA_PG_BIN, else PATH, else Debian's /usr/lib/postgresql/<v>/bin."""
    named = os.environ.get("FAVORITA_PG_BIN")
    if named:
        return Path(named) if (Path(named) / "initdb").exists() else None
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def _as_postgres_user() -> list[str]:
    """initdb and the server refuse to run as root: as root, run them as the package's `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _postgres_can_write(path: Path) -> bool:
    """Whether the `postgres` user can enter and write ``path`` (every folder above it must let it through)."""
    done = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(path), "-a", "-x", str(path)])
    return done.returncode == 0


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam("postgres")
        for item in [path, *path.rglob("*")]:
            os.chown(item, entry.pw_uid, entry.pw_gid)


@dataclass
class Postgres:
    """A PostgreSQL cluster of its own under ``folder``, listening on 127.0.0.1:``port``."""

    folder: Path
    port: int
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)

    @property
    def home(self) -> Path:
        """Where the cluster lives: ``folder``, or (recorded in ``folder/cluster_location``) a folder the `postgres`
        user can reach when ``folder`` is inside one it cannot enter (a private clone, /root, a `mktemp -d`)."""
        pointer = self.folder / "cluster_location"
        return Path(pointer.read_text().strip()) if pointer.is_file() else self.folder

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    def _place(self) -> None:
        """As root, initdb and the server run as `postgres`: keep the cluster where that user can reach it."""
        if not _as_postgres_user() or self.home != self.folder:
            return
        if _postgres_can_write(self.folder):
            return
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
        elsewhere = Path("/var/tmp") / f"favorita-pg-{digest}"
        elsewhere.mkdir(mode=0o700, exist_ok=True)
        _chown_to_postgres(elsewhere)
        if not _postgres_can_write(elsewhere):
            raise TopologyError(
                f"PostgreSQL runs as the `postgres` user, which cannot enter {self.folder} nor {elsewhere}: give "
                "--root a folder that user can reach (e.g. --root /var/tmp/favorita-prod)"
            )
        (self.folder / "cluster_location").write_text(f"{elsewhere}\n")

    def _tool(self, name: str) -> str:
        folder = postgres_bin()
        if folder is None:
            raise TopologyError(
                "PostgreSQL's initdb/pg_ctl were not found: install Debian's `postgresql` package "
                "(or set FAVORITA_PG_BIN to the folder holding them)"
            )
        return str(folder / name)

    def _run(self, *argv: str, input: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([*_as_postgres_user(), *argv], input=input, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise TopologyError(f"{Path(argv[0]).name} failed: {(done.stderr or done.stdout).strip()[-1500:]}")
        return done

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _chown_to_postgres(self.folder)
        self._place()
        self.socket_dir.mkdir(exist_ok=True)
        _chown_to_postgres(self.home)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                self._tool("initdb"),
                "-D",
                str(self.data),
                "-U",
                DB_USER,
                "-E",
                "UTF8",
                "--no-instructions",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            )
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        self._run(
            self._tool("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.home / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        # Over the local socket (trust, this OS user only): the password of this start, then the database.
        sql = f"ALTER ROLE {DB_USER} PASSWORD '{self.password}';\n"
        self._psql(sql)
        if DB_NAME not in self._psql("SELECT datname FROM pg_database;").stdout.split():
            self._psql(f"CREATE DATABASE {DB_NAME};")

    def _psql(self, sql: str) -> subprocess.CompletedProcess:
        return self._run(
            self._tool("psql"),
            "-X",
            "-q",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            DB_USER,
            "-d",
            "postgres",
            "-f",
            "-",
            input=sql,
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(self._tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def environment(self) -> dict[str, str]:
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": DB_NAME,
            "DAGSTER_PG_USER": DB_USER,
            "DAGSTER_PG_PASSWORD": self.password,
        }


def _group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (zombies excluded), read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


@dataclass
class Topology:
    """The four processes of production Dagster on this machine; ``env`` adds the code location's settings
    (FAVORITA_DATA_DIR, FAVORITA_STORAGE_DIR, ...)."""

    root: Path
    env: Mapping[str, str] = field(default_factory=dict)
    web_port: int = 3000
    code_port: int = 0
    pg_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.code_port = self.code_port or free_port()
        self.pg_port = self.pg_port or free_port()
        self.postgres = Postgres(self.root / "pg", self.pg_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.env,
            **self.postgres.environment(),
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_COMPUTE_LOG_DIR": str(self.root / "compute_logs"),
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(self.code_port),
            "FAVORITA_DAGSTER_URL": self.env.get("FAVORITA_DAGSTER_URL", self.url),
            # production: the schedule and the new-data sensor run as configured, unless the caller says otherwise
            "FAVORITA_AUTOMATION": self.env.get(
                "FAVORITA_AUTOMATION", os.environ.get("FAVORITA_AUTOMATION", "running")
            ),
        }

    def command(self, name: str) -> list[str]:
        bin_dir = Path(sys.executable).parent
        workspace = str(self.root / "workspace.yaml")
        return {
            "code_server": [
                str(bin_dir / "dagster"),
                "code-server",
                "start",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.code_port),
                "-m",
                "favorita_assets.definitions",
                "--location-name",
                LOCATION,
            ],
            "daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", workspace],
            "webserver": [
                str(bin_dir / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.web_port),
                "-w",
                workspace,
            ],
        }[name]

    def start(self, timeout: float = 180) -> None:
        for folder in ("logs", "compute_logs", "dagster_home"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(INSTANCE_CONFIG, self.dagster_home / "dagster.yaml")
        shutil.copyfile(WORKSPACE, self.root / "workspace.yaml")
        self.postgres.start()
        try:
            self.start_process("code_server")
            self.wait_for_code_server(deadline=time.monotonic() + timeout)
            self.start_process("daemon")
            self.start_process("webserver")
            self.wait_for_webserver(deadline=time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        self.save_state()

    def start_process(self, name: str) -> None:
        log = self.log(name).open("ab")
        self.processes[name] = subprocess.Popen(
            self.command(name),
            env=self.environment(),
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop takes its children too
        )
        log.close()

    def _check_alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            tail = self.log(name).read_text(errors="replace")[-2000:]
            raise TopologyError(
                f"{name} exited with code {process.returncode}; its log ({self.log(name)}) ends:\n{tail}"
            )

    def wait_for_code_server(self, deadline: float) -> None:
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=self.code_port, host="127.0.0.1")
        while True:
            self._check_alive("code_server")
            try:
                with socket.create_connection(("127.0.0.1", self.code_port), timeout=2):
                    pass
                if client.health_check_query() == "SERVING":
                    return
            except Exception:  # noqa: BLE001 - not listening yet, or still loading the definitions
                pass
            if time.monotonic() > deadline:
                raise TopologyError(
                    f"the code server did not answer on 127.0.0.1:{self.code_port}; see {self.log('code_server')}"
                )
            time.sleep(0.5)

    def wait_for_webserver(self, deadline: float) -> None:
        while True:
            for name in ("daemon", "webserver"):
                self._check_alive(name)
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TopologyError(f"the webserver did not answer at {self.url}; see {self.log('webserver')}")
            time.sleep(0.5)

    def stop_process(self, name: str, grace: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        _stop_group(process.pid, grace)
        process.wait(timeout=5)

    def stop(self) -> None:
        for name in reversed(PROCESSES):
            self.stop_process(name)
        self.postgres.stop()
        state = self.root / "state.json"
        if state.exists():
            state.unlink()

    def save_state(self) -> None:
        state = {
            "web_port": self.web_port,
            "code_port": self.code_port,
            "pg_port": self.pg_port,
            "groups": {name: p.pid for name, p in self.processes.items()},
        }
        tmp = self.root / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.root / "state.json")

    def graphql(self, query: str, variables: Mapping | None = None, timeout: float = 30) -> dict:
        """One request to the webserver's GraphQL API (the one the UI uses); its data, or TopologyError."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        for attempt in range(5):  # a webserver still loading the code location answers 5xx for a moment
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    answer = json.loads(response.read())
                break
            except urllib.error.HTTPError as error:
                if error.code < 500 or attempt == 4:
                    raise TopologyError(f"GraphQL at {self.url}: HTTP {error.code}: {error.read()[:500]!r}") from None
                time.sleep(2)
        if answer.get("errors"):
            raise TopologyError(f"GraphQL: {answer['errors']}")
        return answer["data"]

    def daemon_health(self) -> dict[str, bool]:
        data = self.graphql("{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }")
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return {s["daemonType"]: bool(s["healthy"]) for s in statuses if s["required"]}


def _stop_group(pgid: int, grace: float) -> None:
    """SIGTERM the process group, SIGKILL what is left after ``grace`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_members(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def stop_from_state(root: Path) -> list[str]:
    """Stop what a ``start`` in another process left running under ``root``; the names of what was stopped."""
    root = Path(root).resolve()
    state_file = root / "state.json"
    stopped = []
    if state_file.exists():
        state = json.loads(state_file.read_text())
        for name in reversed(PROCESSES):
            pgid = state["groups"].get(name)
            if pgid and _group_members(pgid):
                _stop_group(pgid, grace=20)
                stopped.append(name)
        state_file.unlink()
    if (root / "pg" / "data" / "postmaster.pid").exists():
        Postgres(root / "pg", 0).stop()
        stopped.append("postgres")
    return stopped


def running(root: Path) -> dict[str, bool]:
    root = Path(root).resolve()
    state_file = root / "state.json"
    if not state_file.exists():
        return {}
    groups = json.loads(state_file.read_text())["groups"]
    return {name: bool(_group_members(pgid)) for name, pgid in groups.items()}
