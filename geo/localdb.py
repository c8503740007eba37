"""A private PostgreSQL cluster under the project's own data folder.

Used when ``DATABASE_URL`` is not set, so a newcomer never configures a server by hand.
``initdb`` refuses to run as root, so when invoked as root the cluster is created and run
as the unprivileged ``postgres`` user. PostGIS must be installed system-wide
(Debian: ``postgresql-15-postgis-3``); the migrations create the extension.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from geo.errors import DualImpactError

SERVICE_USER = "postgres"


class LocalClusterError(DualImpactError):
    """The local cluster could not be created or started; the message says why."""


@dataclass(frozen=True)
class LocalCluster:
    data_dir: Path
    port: int

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = _run_as_owner([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "status"], check=False)
        return result.returncode == 0

    def start(self) -> bool:
        """Initialise when needed and start; returns False when it was already running."""
        if not self.is_initialised():
            self._initdb()
        if self.is_running():
            return False
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        try:
            _run_as_owner(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        except LocalClusterError as exc:
            raise LocalClusterError(
                f"{exc}\nLast lines of {self.log_file}:\n{self._log_tail()}\n"
                "If the port is taken, set DUALIMPACT_LOCAL_DB_PORT to a free one."
            ) from None
        return True

    def stop(self) -> bool:
        """Stop the cluster; returns False when it was not running."""
        if not self.is_running():
            return False
        _run_as_owner([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return True

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            owner = pwd.getpwnam(SERVICE_USER)
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        self.data_dir.chmod(0o700)
        _run_as_owner(
            [
                _pg_bin("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )


def resolve_cluster(data_dir: Path, port: int) -> LocalCluster:
    """The cluster for ``data_dir``, moved to a place the service user can reach if needed.

    As root, the project may sit under a folder (e.g. ``/root``) that the ``postgres`` user
    cannot enter; the cluster then lives under that user's home instead, keyed by the path.
    """
    if _running_as_root() and not _service_user_can_reach(data_dir.parent):
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        home = Path(pwd.getpwnam(SERVICE_USER).pw_dir)
        return LocalCluster(home / "dualimpact" / digest, port)
    return LocalCluster(data_dir, port)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _service_user_can_reach(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["runuser", "-u", SERVICE_USER, "--", "test", "-w", str(folder)],
        capture_output=True,
        check=False,
    )
    if result.returncode == 0:
        return True
    # Let the service user write the project's own data folder, nothing above it.
    owner = pwd.getpwnam(SERVICE_USER)
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    retry = subprocess.run(
        ["runuser", "-u", SERVICE_USER, "--", "test", "-w", str(folder)],
        capture_output=True,
        check=False,
    )
    return retry.returncode == 0


def _pg_bin(name: str) -> str:
    """Find a PostgreSQL server binary (Debian keeps them out of PATH)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not versions:
        raise LocalClusterError(
            f"{name} not found. Install PostgreSQL with PostGIS "
            "(Debian: apt-get install postgresql-15-postgis-3), or set DATABASE_URL."
        )
    return str(versions[-1])


def _run_as_owner(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if _running_as_root():
        argv = ["runuser", "-u", SERVICE_USER, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
    if check and result.returncode != 0:
        raise LocalClusterError(
            f"`{' '.join(argv)}` failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}"
        )
    return result
