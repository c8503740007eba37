"""Typed settings read from the environment.

Settings are built on demand by :func:`get_settings` (never at import time) so that tests
and the API factory can pass their own.
"""

from __future__ import annotations

import secrets
import zlib
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.errors import DualImpactError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_DB_NAME = "dualimpact"
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
    data_dir: Path | None = Field(default_factory=_default_data_dir)
    local_db_dir: Path = PROJECT_ROOT / ".dualimpact" / "pgdata"
    # Signs access tokens. Set DUALIMPACT_SECRET_KEY in production; without it a random key
    # is kept in .dualimpact/secret_key (tokens survive restarts of this installation only).
    secret_key: str | None = None
    token_minutes: int = 30
    # How long the web app reuses national coverage before recomputing it (seconds).
    coverage_seconds: float = 60.0
    # Base map under the web maps: a folium tile name, or "none" (offline, tests).
    map_tiles: str = "OpenStreetMap"

    @property
    def tiles(self) -> str | None:
        return None if self.map_tiles.lower() == "none" else self.map_tiles

    # Where `dualimpact load ...` writes the rows it rejected from the shared files.
    import_errors_dir: Path = PROJECT_ROOT / ".dualimpact" / "import-errors"
    # Derived from the data folder unless set, so two clones on one machine do not collide.
    local_db_port: int | None = None

    @property
    def local_port(self) -> int:
        if self.local_db_port is not None:
            return self.local_db_port
        return LOCAL_PORT_BASE + zlib.crc32(str(self.local_db_dir.resolve()).encode()) % 500

    @property
    def local_database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.local_port}/{LOCAL_DB_NAME}"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver spelled out."""
        return normalise_database_url(self.database_url or self.local_database_url)

    def signing_key(self) -> str:
        """The key that signs access tokens (created once, kept private, when not set)."""
        if self.secret_key:
            return self.secret_key
        path = self.local_db_dir.parent / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

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


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
