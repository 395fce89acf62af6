"""A defect in a CLI command (an exception nobody foresaw) reaches the user as one plain
sentence naming the log file, exit 1, and the traceback goes to that file, not the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

import metrics.__main__ as cli
from metrics.i18n import t


def test_unforeseen_error_is_logged_not_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object, lang: str) -> int:
        raise RuntimeError("secret detail /srv/data/x")

    monkeypatch.setattr(cli, "_run", broken)
    monkeypatch.setenv("GOVDASH_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(tmp_path / "data"))

    assert cli.main(["audit"]) == 1

    err = capsys.readouterr().err
    log = tmp_path / "logs" / "cli.log"
    assert err.strip() == t("cli_internal_error", "zh", log=str(log))
    assert "Traceback" not in err and "secret detail" not in err
    written = log.read_text(encoding="utf-8")
    assert "Traceback" in written and "RuntimeError: secret detail /srv/data/x" in written
