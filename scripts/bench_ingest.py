"""Time validate + commit of a large generated 矛盾纠纷 CSV (figures in docs/ingest-performance.md).

    .venv/bin/python scripts/bench_ingest.py --rows 1000000 --encoding utf-8
    .venv/bin/python scripts/bench_ingest.py --rows 1000000 --encoding gb18030
    .venv/bin/python scripts/bench_ingest.py --rows 1000000 --existing 1000000

Builds a throwaway store in a temporary folder (two communities and their grids), so it
never touches ./data. Without --existing the file goes into an empty 矛盾纠纷 table (the
first commit writes the table: no merge); with --existing N the table already holds N cases
of another community and the commit is the usual MERGE by key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from metrics import ingest
from metrics.schemas import DATASETS
from metrics.store import Store


def ledger(rows: int, encoding: str, community: str = "QTX01", seed: int = 1) -> bytes:
    """A valid ledger for `community`: ids, grids, dates and notes vary row by row."""
    rng = np.random.default_rng(seed)
    reported = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), "D")
    resolved = reported + pd.to_timedelta(rng.integers(1, 30, rows), "D")
    frame = pd.DataFrame(
        {
            "编号": [f"{community}-B{i:07d}" for i in range(rows)],
            "社区编码": community,
            "网格编码": [f"{community}-G{g:02d}" for g in rng.integers(1, 4, rows)],
            "类型": "矛盾纠纷",
            "类别": "邻里纠纷",
            "来源渠道": "板凳会",
            "是否督办": np.where(rng.random(rows) < 0.2, "是", "否"),
            "受理日期": reported.strftime("%Y-%m-%d"),
            "办结日期": resolved.strftime("%Y/%-m/%-d"),
            "状态": "已化解",
            "备注": [f"经板凳会协商，第{i}号" for i in range(rows)],
        }
    )
    text: str = frame.to_csv(index=False, lineterminator="\r\n")
    return text.encode(encoding)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--encoding", choices=["utf-8", "gb18030"], default="utf-8")
    p.add_argument(
        "--existing",
        type=int,
        default=0,
        help="cases of another community already in the table (0: an empty table)",
    )
    args = p.parse_args()
    data = ledger(args.rows, args.encoding)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        ids = ["QTX01", "QTX02"]
        store.replace_all("communities", _arrow(pd.DataFrame({"community_id": ids, "name": ids})))
        grids = pd.DataFrame(
            {
                "grid_id": [f"{c}-G{g:02d}" for c in ids for g in range(1, 4)],
                "community_id": [c for c in ids for _ in range(1, 4)],
                "name": "网格",
                "households": 400,
                "is_micro": False,
            }
        )
        store.replace_all("grids", _arrow(grids))
        if args.existing:
            other = ledger(args.existing, "utf-8", community="QTX02", seed=2)
            seeded = ingest.validate(
                other, "seed.csv", "cases", "QTX02", store, today=dt.date(2025, 12, 31),
                max_bytes=len(other),
            )  # fmt: skip
            assert seeded.ok, seeded.problems[:5]
            ingest.commit(store, seeded, user="bench")
        started = time.perf_counter()
        v = ingest.validate(
            data,
            "bench.csv",
            "cases",
            "QTX01",
            store,
            today=dt.date(2025, 12, 31),
            max_bytes=len(data),
        )
        validated = time.perf_counter()
        assert v.ok, v.problems[:5]
        result = ingest.commit(store, v, user="bench")
        committed = time.perf_counter()
        # The same file again: validated, compared with the 1M stored rows, nothing written.
        again = ingest.validate(
            data,
            "bench.csv",
            "cases",
            "QTX01",
            store,
            today=dt.date(2025, 12, 31),
            max_bytes=len(data),
        )
        repeat = ingest.commit(store, again, user="bench")
        repeated = time.perf_counter()
        assert not repeat.committed
    print(
        json.dumps(
            {
                "rows": v.row_count,
                "existing_rows": args.existing,
                "path": "merge into an existing table" if args.existing else "empty table",
                "encoding": args.encoding,
                "file_mb": round(len(data) / 1048576, 1),
                "validate_s": round(validated - started, 2),
                "commit_s": round(committed - validated, 2),
                "total_s": round(committed - started, 2),
                "reupload_unchanged_s": round(repeated - committed, 2),
                "version": result.version,
                "columns": len(DATASETS["cases"].fields),
            },
            ensure_ascii=False,
        )
    )


def _arrow(frame: pd.DataFrame) -> object:
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


if __name__ == "__main__":
    main()
