"""Files attached to an activity as evidence of what it achieves.

A file is accepted only when its bytes are what its name says (a PDF, PNG, JPEG, plain
text or CSV, or a Word, Excel or OpenDocument text file, which are zip archives of a known
layout) and it is no larger than the limit; it is kept under the evidence folder (outside
the web root) by a random name, never the sender's, with its SHA-256, and served only as a
download. Who may attach or read evidence is decided above the registry
(:data:`accounts.permissions.PERMISSIONS`, ``ADD_EVIDENCE`` and ``READ_ACTIVITY_HISTORY``);
links to evidence are the activity's ``evidence_links``.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from datetime import datetime
from pathlib import Path, PurePath
from typing import TypedDict, cast

from sqlalchemy import Connection, text

from geo.errors import InvalidInputError, NotFoundError
from registry.history import record_event

# Content type by extension, for the kinds whose bytes a signature proves.
_SIGNED = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
}
_TEXT = {".txt": "text/plain", ".csv": "text/csv"}
# Zip-based documents: the member their layout always has.
_ZIPPED = {
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "[Content_Types].xml",
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "[Content_Types].xml",
    ),
    ".odt": ("application/vnd.oasis.opendocument.text", "mimetype"),
}
ALLOWED = (
    "PDF, PNG, JPEG, plain text (.txt), CSV, Word (.docx), Excel (.xlsx) or OpenDocument (.odt)"
)
_MAX_NAME = 120


class EvidenceFile(TypedDict):
    """A file attached to an activity: its title, the name it was sent with (made safe),
    its content type, size in bytes and SHA-256, the random name it is stored under, who
    attached it and when."""

    id: int
    activity_id: int
    title: str
    filename: str
    content_type: str
    stored_name: str
    size_bytes: int
    sha256: str
    added_by: str | None
    created_at: datetime


def safe_filename(name: str) -> str:
    """The last part of ``name`` with control characters, quotes and path separators
    removed, at most 120 characters ("evidence" when nothing is left)."""
    base = PurePath(name.replace("\\", "/")).name
    kept = "".join(
        c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C"
    )
    kept = re.sub(r'["/;]+', "_", kept).strip(" .")
    if len(kept) > _MAX_NAME:
        stem, dot, ext = kept.rpartition(".")
        kept = stem[: _MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 5 else kept
        kept = kept[:_MAX_NAME]
    return kept or "evidence"


def size_words(size_bytes: int) -> str:
    """A size in bytes as people say it ("850 kB", "10 MB")."""
    if size_bytes < 1_000_000:
        return f"{max(size_bytes, 1_000) / 1000:,.0f} kB"
    return f"{size_bytes / 1e6:,.1f} MB".replace(".0 MB", " MB")


def content_type(filename: str, data: bytes) -> str:
    """The content type of a file named ``filename`` holding ``data``, when its bytes are
    what its extension says and the kind is allowed.

    Raises
    ------
    InvalidInputError
        The kind is not allowed, or the bytes are not what the name says.
    """
    ext = PurePath(filename.lower()).suffix
    if ext in _SIGNED:
        kind, signatures = _SIGNED[ext]
        if data.startswith(signatures):
            return kind
    elif ext in _TEXT:
        if b"\x00" not in data:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return _TEXT[ext]
    elif ext in _ZIPPED:
        kind, member = _ZIPPED[ext]
        if data.startswith(b"PK\x03\x04") and _has_member(data, member):
            return kind
    else:
        raise InvalidInputError(
            f"{safe_filename(filename)!r} is not a kind of file accepted as evidence: "
            f"send a {ALLOWED} file"
        )
    raise InvalidInputError(
        f"{safe_filename(filename)!r} does not hold what its name says ({ext[1:].upper()}): "
        f"send the file itself, as a {ALLOWED} file"
    )


def _has_member(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return member in archive.namelist()
    except zipfile.BadZipFile:
        return False


def add_file(
    conn: Connection,
    folder: Path,
    activity_id: int,
    *,
    title: str,
    filename: str,
    data: bytes,
    max_bytes: int,
    actor_id: int | None,
) -> EvidenceFile:
    """Keep ``data`` as evidence of the activity and record it (and in its history).

    Parameters
    ----------
    conn
        The connection whose transaction records the file.
    folder
        The evidence folder (made if missing); the file is stored there by a random name.
    activity_id
        The activity.
    title
        What the file shows, as people will read it (the file's name when blank).
    filename
        The name it was sent with (kept, made safe, for the download).
    data
        Its bytes.
    max_bytes
        The largest file accepted, in bytes.
    actor_id
        Who attached it (an ``app_user`` id).

    Raises
    ------
    InvalidInputError
        The file is empty, too large, or not an allowed kind (by its bytes).
    NotFoundError
        There is no such activity.
    """
    name = safe_filename(filename)
    if not data:
        raise InvalidInputError("the file is empty: choose the file to attach")
    if len(data) > max_bytes:
        raise InvalidInputError(
            f"{name!r} is {size_words(len(data))}; files up to {size_words(max_bytes)} are "
            "accepted: send a smaller file, or a link to it"
        )
    kind = content_type(name, data)
    label = " ".join(title.split())[:200] or name
    if (
        conn.execute(text("SELECT 1 FROM activity WHERE id = :id"), {"id": activity_id}).first()
        is None
    ):
        raise NotFoundError(f"no activity with id {activity_id}")
    stored = uuid.uuid4().hex
    digest = hashlib.sha256(data).hexdigest()
    evidence_id = conn.execute(
        text(
            """
            INSERT INTO activity_evidence (activity_id, kind, title, filename, content_type,
                                           stored_name, size_bytes, sha256, added_by)
            VALUES (:activity, 'file', :title, :filename, :kind, :stored, :size, :sha, :actor)
            RETURNING id
            """
        ),
        {
            "activity": activity_id,
            "title": label,
            "filename": name,
            "kind": kind,
            "stored": stored,
            "size": len(data),
            "sha": digest,
            "actor": actor_id,
        },
    ).scalar_one()
    record_event(
        conn,
        activity_id,
        actor_id,
        "evidence_added",
        {"evidence_file": [None, f"{label} ({digest[:12]})"]},
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(data)
    return evidence_file(conn, evidence_id)


_FILES = """
    SELECT e.id, e.activity_id, e.title, e.filename, e.content_type, e.stored_name,
           e.size_bytes, e.sha256, u.name AS added_by, e.created_at
    FROM activity_evidence e LEFT JOIN app_user u ON u.id = e.added_by
    WHERE e.kind = 'file'
"""


def files(conn: Connection, activity_id: int) -> list[EvidenceFile]:
    """The files attached to the activity, newest first."""
    rows = conn.execute(
        text(f"{_FILES} AND e.activity_id = :activity ORDER BY e.created_at DESC, e.id DESC"),
        {"activity": activity_id},
    ).mappings()
    return [cast(EvidenceFile, dict(row)) for row in rows]


def evidence_file(conn: Connection, evidence_id: int) -> EvidenceFile:
    """One attached file's record (NotFoundError when there is none)."""
    row = conn.execute(text(f"{_FILES} AND e.id = :id"), {"id": evidence_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no evidence file with id {evidence_id}")
    return cast(EvidenceFile, dict(row))


def stored_path(folder: Path, record: EvidenceFile) -> Path:
    """Where the file of ``record`` is kept under ``folder`` (NotFoundError when it has
    gone: say, the folder was not restored with the database)."""
    path = folder / record["stored_name"]
    if not re.fullmatch(r"[0-9a-f]{32}", record["stored_name"]) or not path.is_file():
        raise NotFoundError(f"the file of evidence {record['id']} is missing from the store")
    return path
