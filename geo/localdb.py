"""A private PostgreSQL cluster under the project's own data folder.

Used when ``DATABASE_URL`` is not set, so a newcomer never configures a server by hand.
``initdb`` refuses to run as root, so when invoked as root the cluster is created and run
as the unprivileged ``postgres`` user. PostGIS must be installed system-wide
(Debian: ``postgresql-15-postgis-3``); the migrations create the extension.
:func:`client_bin` finds the client programs (``pg_dump``, ``pg_restore``, ``psql``) of a
server's major version, for backups of any server.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import DualImpactError

SERVICE_USER = "postgres"
# A pg_hba.conf line that lets anyone in without a password (clusters made before 2026-11).
_TRUST = re.compile(r"^(\s*(?:local|host)\S*\s.*?\s)trust\s*$", re.MULTILINE)


class LocalClusterError(DualImpactError):
    """The local cluster could not be created or started; the message says why."""


@dataclass(frozen=True)
class LocalCluster:
    """A cluster in ``data_dir`` listening on 127.0.0.1:``port``, where every connection
    authenticates with a password (SCRAM-SHA-256); ``password`` is the superuser's."""

    data_dir: Path
    port: int
    password: str = field(repr=False)

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

    @property
    def hba_file(self) -> Path:
        return self.data_dir / "pg_hba.conf"

    def start(self) -> bool:
        """Initialise when needed and start; returns False when it was already running.

        A cluster made by an earlier version with ``trust`` authentication is switched to
        passwords first (the superuser gets ``password``).
        """
        if not self.is_initialised():
            self._initdb()
        elif _TRUST.search(self.hba_file.read_text()):
            self._require_passwords()
        if self.is_running():
            return False
        self._pg_ctl_start()
        return True

    def _pg_ctl_start(self) -> None:
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
        # initdb wants an empty folder: the password file sits beside it, briefly.
        secret = self.data_dir.parent / f".{self.data_dir.name}-initdb-password"
        secret.touch(mode=0o600)
        secret.write_text(self.password + "\n")
        if _running_as_root():
            os.chown(secret, owner.pw_uid, owner.pw_gid)
        secret.chmod(0o600)
        try:
            _run_as_owner(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SERVICE_USER,
                    "--auth=scram-sha-256",
                    f"--pwfile={secret}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            secret.unlink()

    def _require_passwords(self) -> None:
        """Give the superuser ``password`` (while ``trust`` still lets it in), then make
        every connection authenticate with a password."""
        was_running = self.is_running()
        if not was_running:
            self._pg_ctl_start()
        _run_as_owner([_pg_bin("psql"), *self._psql_args(), "-c", self._set_password_sql()])
        self.hba_file.write_text(_TRUST.sub(r"\1scram-sha-256", self.hba_file.read_text()))
        _run_as_owner([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "reload"])
        if not was_running:
            self.stop()

    def _psql_args(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", SERVICE_USER, "-d", "postgres"]

    def _set_password_sql(self) -> str:
        quoted = self.password.replace("'", "''")
        return f"ALTER ROLE {SERVICE_USER} PASSWORD '{quoted}'"


def resolve_cluster(data_dir: Path, port: int, password: str) -> LocalCluster:
    """The cluster for ``data_dir``, moved to a place the service user can reach if needed.

    As root, the project may sit under a folder (e.g. ``/root``) that the ``postgres`` user
    cannot enter; the cluster then lives under that user's home instead, keyed by the path.
    """
    if _running_as_root() and not _service_user_can_reach(data_dir.parent):
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        home = Path(pwd.getpwnam(SERVICE_USER).pw_dir)
        return LocalCluster(home / "dualimpact" / digest, port, password)
    return LocalCluster(data_dir, port, password)


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
    versions = _versioned(name)
    if not versions:
        raise LocalClusterError(
            f"{name} not found. Install PostgreSQL with PostGIS "
            "(Debian: apt-get install postgresql-15-postgis-3), or set DATABASE_URL."
        )
    return str(versions[max(versions)])


def client_bin(name: str, server_major: int) -> str:
    """A PostgreSQL client program (``pg_dump``, ``pg_restore``, ``psql``) that works with
    a server of major version ``server_major``.

    Parameters
    ----------
    name
        The program.
    server_major
        The server's major version (15 for 15.x).

    Returns
    -------
    str
        The program of the server's own major version when installed (Debian keeps each
        under ``/usr/lib/postgresql/<major>/bin``), else the newest newer one (they read
        older servers), else the one on ``PATH`` if it is not older than the server.

    Raises
    ------
    MissingProgramError
        No such program of the server's version or newer is installed.
    """
    versions = _versioned(name)
    newer = [major for major in versions if major >= server_major]
    if newer:
        return str(versions[server_major if server_major in newer else max(newer)])
    on_path = shutil.which(name)
    if on_path and _major_of(on_path) >= server_major:
        return on_path
    raise MissingProgramError(
        f"{name} for PostgreSQL {server_major} (or newer) not found: install it (Debian: "
        f"apt-get install postgresql-client-{server_major}) or put it on PATH."
    )


class MissingProgramError(DualImpactError):
    """A PostgreSQL program the command needs is not installed; the message says which."""


def _versioned(name: str) -> dict[int, Path]:
    """Debian's copies of a PostgreSQL program, by major version."""
    return {
        int(path.parts[-3]): path
        for path in Path("/usr/lib/postgresql").glob(f"*/bin/{name}")
        if path.parts[-3].isdigit()
    }


def _major_of(program: str) -> int:
    """The major version a PostgreSQL program reports (``pg_dump (PostgreSQL) 15.20``)."""
    words = subprocess.run(
        [program, "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    release = words[-1] if words else ""
    return int(release.split(".")[0]) if release.split(".")[0].isdigit() else 0


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
