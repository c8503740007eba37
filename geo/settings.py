"""Typed settings read from the environment.

Settings are built on demand by :func:`get_settings` (never at import time) so that tests
and the API factory can pass their own.
"""

from __future__ import annotations

import os
import secrets
import zlib
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, NonNegativeInt, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

from geo.errors import DualImpactError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_DB_NAME = "dualimpact"
LOCAL_SUPERUSER = "postgres"
# The roles of geo/roles.py (named here, at the bottom of the base, so settings can build
# their URLs).
OWNER_ROLE = "dualimpact_owner"
APP_ROLE = "dualimpact_app"
LOCAL_PORT_BASE = 54320


def _default_data_dir() -> Path | None:
    """``../shared/data`` beside the working directory or the project, when it exists."""
    for base in (Path.cwd(), PROJECT_ROOT):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate.is_dir():
            return candidate
    return None


class Settings(BaseSettings):
    """Where the data and the database are.

    ``DATABASE_URL`` overrides everything; without it the project's own local cluster
    (``dualimpact db start``) is used.
    """

    model_config = SettingsConfigDict(env_prefix="DUALIMPACT_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DUALIMPACT_DATABASE_URL")
    )
    # Least privilege (geo/roles.py). DATABASE_URL is the web app's connection, as a role
    # that owns nothing. The owner's connection runs migrations, loads and the command line
    # (DUALIMPACT_OWNER_DATABASE_URL; default: DATABASE_URL itself). A superuser's creates
    # the database, the two roles and PostGIS in `dualimpact db start`
    # (DUALIMPACT_ADMIN_DATABASE_URL; optional when the database and roles already exist).
    # Without DATABASE_URL all three are the project's own cluster, with passwords kept in
    # .dualimpact/ (password authentication, never `trust`).
    owner_database_url: str | None = None
    admin_database_url: str | None = None
    data_dir: Path | None = Field(default_factory=_default_data_dir)
    local_db_dir: Path = PROJECT_ROOT / ".dualimpact" / "pgdata"
    # Signs access tokens. Set DUALIMPACT_SECRET_KEY in production; without it a random key
    # is kept in .dualimpact/secret_key (tokens survive restarts of this installation only).
    secret_key: str | None = None
    # Keys the audit trail's checkpoints (HMAC-SHA256 of each SPO chain's head). Set
    # DUALIMPACT_AUDIT_KEY in production and keep it away from the database and its backups;
    # without it a random key is kept in .dualimpact/audit_key. Losing it does not lose the
    # trail, but checkpoints can then no longer be verified.
    audit_key: str | None = None
    token_minutes: int = 30
    # Sign-in throttling (POST /token): failed attempts allowed per account (any client)
    # and per client address (any account) within a moving window of this many seconds;
    # then 429 with Retry-After until the oldest failure leaves the window.
    login_failures_per_account: PositiveInt = 10
    login_failures_per_client: PositiveInt = 30
    login_window_seconds: PositiveInt = 900
    # Where the counts are kept (a `limits` storage URI): per process by default; use a
    # shared one (e.g. redis://host:6379) when serving with several workers.
    login_throttle_storage: str = "memory://"
    # Password checks (Argon2, ~0.1 s of one core each) run at most this many at a time,
    # with at most `login_queue` more waiting; beyond that, sign-ins get 429 at once.
    login_concurrency: PositiveInt = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2)
    )
    login_queue: NonNegativeInt = 32
    # How many rendered maps and page tables the web app keeps per process (least recently
    # used dropped first); each is rebuilt when the data it shows changes.
    page_cache_size: PositiveInt = 256
    # Mark the web pages' cookies Secure (sent over TLS only): set true when the app is
    # served over HTTPS behind a proxy that talks plain HTTP to it (a request that arrives
    # over HTTPS gets Secure cookies anyway).
    cookie_secure: bool = False
    # Where files attached as evidence are kept: outside the web root, served only as
    # downloads through the app.
    evidence_dir: Path = PROJECT_ROOT / ".dualimpact" / "evidence"
    evidence_max_bytes: PositiveInt = 10_000_000
    # Base map under the web maps: a folium tile name, or "none" (offline, tests).
    map_tiles: str = "OpenStreetMap"
    # The browser `dualimpact report` prints PDFs with (headless): a path or a command name.
    chromium: str = "chromium"

    @property
    def tiles(self) -> str | None:
        return None if self.map_tiles.lower() == "none" else self.map_tiles

    # A claimed or verified activity not heard of (confirmed, delivering, funded) for this
    # many years is *lapsed*: it drops out of rankings, maps and matching by default.
    lapse_years: PositiveInt = 3
    # Where `dualimpact load ...` writes the rows it rejected from the shared files.
    import_errors_dir: Path = PROJECT_ROOT / ".dualimpact" / "import-errors"
    # Derived from the data folder unless set, so two clones on one machine do not collide.
    local_db_port: int | None = None

    @property
    def local_port(self) -> int:
        if self.local_db_port is not None:
            return self.local_db_port
        return LOCAL_PORT_BASE + zlib.crc32(str(self.local_db_dir.resolve()).encode()) % 500

    def local_password(self, role: str) -> str:
        """The password of ``role`` on the project's own cluster (created once, kept in
        ``.dualimpact/`` beside the token key, readable by its owner only)."""
        return kept_secret(self.local_db_dir.parent / f"db-password-{role}")

    def local_url(self, role: str, database: str = LOCAL_DB_NAME) -> str:
        """A connection URL of the project's own cluster, as ``role``."""
        return str(
            URL.create(
                "postgresql+psycopg",
                username=role,
                password=self.local_password(role),
                host="127.0.0.1",
                port=self.local_port,
                database=database,
            ).render_as_string(hide_password=False)
        )

    @property
    def sqlalchemy_url(self) -> str:
        """The web app's connection (the app role), with the psycopg 3 driver spelled out."""
        return normalise_database_url(self.database_url or self.local_url(APP_ROLE))

    @property
    def owner_url(self) -> str:
        """The schema owner's connection: migrations, loads, the command line."""
        if self.owner_database_url:
            return normalise_database_url(self.owner_database_url)
        if self.database_url:
            return normalise_database_url(self.database_url)
        return self.local_url(OWNER_ROLE)

    @property
    def admin_url(self) -> str | None:
        """A superuser's connection (creates the database, roles, PostGIS), if known."""
        if self.admin_database_url:
            return normalise_database_url(self.admin_database_url)
        if self.database_url:
            return None
        return self.local_url(LOCAL_SUPERUSER)

    def signing_key(self) -> str:
        """The key that signs access tokens (created once, kept private, when not set)."""
        return self.secret_key or kept_secret(self.local_db_dir.parent / "secret_key")

    def audit_mac_key(self) -> str:
        """The key of the audit trail's checkpoints (created once, kept private, when not
        set): outside the database, so whoever controls the database cannot forge them."""
        return self.audit_key or kept_secret(self.local_db_dir.parent / "audit_key")

    def require_data_dir(self) -> Path:
        """The data directory, or a clear error saying how to set it."""
        if self.data_dir is None or not self.data_dir.is_dir():
            raise DataDirMissingError(self.data_dir)
        return self.data_dir


class DataDirMissingError(DualImpactError):
    def __init__(self, path: Path | None) -> None:
        where = f"{path} does not exist" if path else "no ../shared/data was found"
        super().__init__(
            f"Data directory not found ({where}). "
            "Set DUALIMPACT_DATA_DIR to the folder holding geography/, activities/, suppliers/."
        )


def kept_secret(path: Path) -> str:
    """The random secret kept in ``path`` (readable by its owner only), created on first
    use; two processes creating it at once agree on one secret."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # atomic, and refused when another process got there first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
