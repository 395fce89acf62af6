"""What goes wrong, in either language: a Problem in the file, an IngestError in the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metrics.i18n import t


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where (Excel row, column header as in the file), what, and why."""

    row: int | None  # None: the file as a whole
    column: str | None
    value: str | None
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        return t(self.key, lang, **self.params)

    @property
    def zh(self) -> str:
        return self.message("zh")

    @property
    def en(self) -> str:
        return self.message("en")


class IngestError(ValueError):
    """A request that cannot be carried out (not a problem in the file), with its message
    in either language."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(t(key, "en", **params))
        self.problem = Problem(None, None, None, key, params)

    def message(self, lang: str = "zh") -> str:
        return self.problem.message(lang)
