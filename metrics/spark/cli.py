"""The Spark side of `python -m metrics refresh --engine spark [--master URL]`: an
administrator's command, audited as the DuckDB refresh is. pyspark and sqlglot are optional
(requirements-spark.txt): without them the command says how to install them."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TYPE_CHECKING

from metrics.access.audit import audit
from metrics.access.principals import require
from metrics.i18n import Refusal, t

if TYPE_CHECKING:
    from metrics.store import Store

log = logging.getLogger(__name__)


def refresh_command(args: argparse.Namespace, store: Store) -> int:
    require(args.principal, "admin")
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as missing:
        print(t("spark_missing", args.lang, module=missing.name or "pyspark"), file=sys.stderr)
        return 2
    from metrics.spark import refresh

    started = time.monotonic()
    try:
        version = refresh.refresh(store, args.master)
    except Refusal as refused:
        log.warning("spark refresh refused: %s", refused)
        print(refused.message(args.lang), file=sys.stderr)
        return 2
    audit(store, args.principal, "refresh", version=version.token, engine="spark")
    seconds = f"{time.monotonic() - started:.1f}"
    print(t("spark_refreshed", args.lang, version=version.token, seconds=seconds))
    return 0
