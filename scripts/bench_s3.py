"""Page queries on a store on S3 against the same store on a local directory (issue 16,
point 4; docs/benchmarks.md). Builds the benchmark's synthetic store (metrics/bench.py) on
local disk, copies it object for object to S3 (a Delta table's log names its files
relative to the table, so the copy is the same table), and times every page query on both
the way `python -m metrics bench` does (a warm-up, then `--runs` runs; p50 and p95 ms).

S3 is the one the AWS_* environment points at; without AWS_ENDPOINT_URL a moto server is
started on loopback for the run. Usage:

    .venv/bin/python scripts/bench_s3.py --rows 1000000 [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics import bench, location
from metrics.store import Store


def _moto() -> subprocess.Popen[bytes]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        AWS_ALLOW_HTTP="true",
    )
    for _ in range(100):
        try:
            location.s3_client().create_bucket(Bucket="govdash-bench")
            return server
        except Exception:
            time.sleep(0.2)
    raise RuntimeError("moto did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bucket", default="govdash-bench")
    args = parser.parse_args()
    server = None if os.environ.get("AWS_ENDPOINT_URL") else _moto()
    try:
        with tempfile.TemporaryDirectory(prefix="govdash-s3-bench-") as work:
            local = Store(Path(work) / "data")
            began = time.perf_counter()
            bench.load(local, args.rows)
            built = time.perf_counter() - began
            prefix = f"{args.bucket}/{uuid.uuid4().hex}"
            began = time.perf_counter()
            import pyarrow.fs as pafs

            pafs.copy_files(str(local.root), prefix, destination_filesystem=location.filesystem())
            copied = time.perf_counter() - began
            result = {
                "rows": args.rows,
                "build_local_s": round(built, 1),
                "copy_to_s3_s": round(copied, 1),
                "endpoint": os.environ.get("AWS_ENDPOINT_URL", "AWS"),
                "local": bench._in_child(bench._app_side, local.root, args.runs),
                # Both in a fresh process, as `python -m metrics bench` runs its side.
                "s3": bench._in_child(bench._app_side, f"s3://{prefix}", args.runs),
            }
    finally:
        if server is not None:
            server.kill()
    print(json.dumps(result, ensure_ascii=False, indent=1, default=str))


if __name__ == "__main__":
    main()
