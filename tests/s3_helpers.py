"""moto's S3 server for tests: a process of its own on a free loopback port, with a bucket,
and the AWS_* environment that points the store (and boto3, pyarrow, deltalake) there.
moto enforces conditional writes (If-None-Match / If-Match), which the store relies on."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_s3(bucket: str) -> Iterator[dict[str, str]]:
    """The server, running until the block ends, with `bucket` made; yields the AWS_* env."""
    import boto3

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    try:
        client = boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket=bucket)
                break
            except Exception:
                assert time.monotonic() < deadline, "moto's S3 server did not come up"
                time.sleep(0.2)
        yield env
    finally:
        server.kill()
        server.wait()


@contextmanager
def s3_environment(bucket: str) -> Iterator[dict[str, str]]:
    """`moto_s3(bucket)` with its AWS_* environment set in this process too (so for the CLI
    run in it and the ones it starts), and the store's S3 clients made afresh for it."""
    import pytest

    from metrics import location

    with moto_s3(bucket) as env, pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        location.filesystem.cache_clear()  # made for another server, or none
        location.s3_client.cache_clear()
        try:
            yield env
        finally:
            location.filesystem.cache_clear()
            location.s3_client.cache_clear()
