"""Payloads that would prove code ran: each writes a marker file when (and only when) something executes it."""

from __future__ import annotations

import pickle
from pathlib import Path


class WritesMarker:
    """Unpickling this writes ``path``: a pickle that would run code if anything unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path, str]]:
        return (Path.write_text, (self.path, "code ran"))


def pickle_payload(marker: Path) -> bytes:
    return pickle.dumps(WritesMarker(marker))


def python_payload(marker: Path) -> str:
    """Python source that writes the marker when executed."""
    return f"open({str(marker)!r}, 'w').write('code ran')\n"
