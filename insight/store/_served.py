"""Who serves a store. DuckDB lets one process open a database file, so while `serve` runs every other
process is locked out of it. The server leaves a note beside the database (its port and a secret, readable
only by the system user who started it); a command run beside it finds the note and asks the server to run
the command for it (``insight.web``'s local command endpoint) instead of failing on the lock."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ServedBy", "announce_serving", "served_by", "withdraw_serving", "serving_note"]


@dataclass(frozen=True)
class ServedBy:
    pid: int
    port: int
    secret: str
    db: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def serving_note(db: str | os.PathLike) -> Path:
    db = Path(db).resolve()
    return db.with_name(f".{db.name}.serving.json")


def announce_serving(db: str | os.PathLike, port: int) -> ServedBy:
    """Write the note (owner-only, written aside and moved in) for this process serving ``db`` on ``port``."""
    served = ServedBy(os.getpid(), int(port), secrets.token_urlsafe(32), str(Path(db).resolve()))
    note = serving_note(db)
    partial = note.with_name(f"{note.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(served), fh)
    os.replace(partial, note)
    return served


def withdraw_serving(served: ServedBy) -> None:
    """Remove the note if it is still this server's (a later server of the same store wrote its own)."""
    note = serving_note(served.db)
    try:
        if json.loads(note.read_text(encoding="utf-8")).get("secret") == served.secret:
            note.unlink()
    except (OSError, ValueError):
        pass


def served_by(db: str | os.PathLike) -> ServedBy | None:
    """The live server of ``db``: None when there is no note, it cannot be read (another system user's
    server), or its process has ended (a server killed without removing it)."""
    try:
        served = ServedBy(**json.loads(serving_note(db).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(served.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's: its note is not ours to use
        return None
    return served
