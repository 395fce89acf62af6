"""Where the CLI puts what went wrong beyond the user's input: a traceback is for the
operator's log, never for the person at the terminal (who gets one plain sentence)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
from pathlib import Path


def log_defect() -> str:
    """Append the exception being handled, with the command line and the wall-clock time,
    to the CLI's log file ($GOVDASH_LOG_DIR, default <temp>/govdash/cli.log); its path, or
    "-" when it cannot be written."""
    folder = Path(os.environ.get("GOVDASH_LOG_DIR") or Path(tempfile.gettempdir()) / "govdash")
    path = folder / "cli.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(f"{dt.datetime.now(dt.UTC).isoformat()} {sys.argv!r}\n")
            out.write(traceback.format_exc())
    except OSError:
        return "-"
    return str(path)
