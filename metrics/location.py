"""Where a store lives: a local directory or a prefix on S3-compatible object storage.

`GOVDASH_DATA_DIR` may be `s3://bucket/prefix` (docs/decisions/0018-object-storage.md).
Credentials and the endpoint come from the standard AWS_* environment variables, which
deltalake (Rust's object_store), pyarrow and boto3 all read themselves, so a Delta table's
URI is all any of them is given. A path on S3 is an `S3Path`: the few things the store does
with a `pathlib.Path` (join, read and write small objects, look for one, list tables) said
for objects. What a file system does that objects do not is here, once for both:
`put_if_absent` (the one-time creation of `_store.json`: a link locally, a conditional put
on S3), `write_atomic` (a rename locally; a PUT is atomic on S3) and `attach` (DuckDB reads
S3 through a registered fsspec filesystem over pyarrow's, since its httpfs extension is never
downloaded). Locks on S3 are leases: metrics/leases.py.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.fs as pafs

SCHEME = "s3://"
_used = False  # whether this process has opened anything on S3 (DuckDB then reads S3)


class S3Path:
    """An object key (or a prefix of keys) in a bucket, joined like a Path."""

    __slots__ = ("bucket", "key")

    def __init__(self, uri: str) -> None:
        if not uri.startswith(SCHEME):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, key = uri[len(SCHEME) :].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri!r}")
        self.bucket = bucket
        self.key = key.strip("/")
        global _used
        _used = True

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}" if self.key else f"{SCHEME}{self.bucket}"

    def __repr__(self) -> str:
        return f"S3Path({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, S3Path) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: S3Path) -> bool:
        return str(self) < str(other)

    def __truediv__(self, part: str) -> S3Path:
        return S3Path(f"{self}/{str(part).strip('/')}")

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def parent(self) -> S3Path:
        return S3Path(f"{SCHEME}{self.bucket}/{self.key.rpartition('/')[0]}")

    @property
    def _fs_path(self) -> str:  # pyarrow names objects without the scheme
        return f"{self.bucket}/{self.key}"

    def relative_to(self, other: S3Path) -> PurePosixPath:
        return PurePosixPath(self.key).relative_to(other.key)

    def is_file(self) -> bool:
        import pyarrow.fs as pafs

        return bool(filesystem().get_file_info(self._fs_path).type == pafs.FileType.File)

    def is_dir(self) -> bool:
        """Whether any object lies under this prefix (S3 has no directories of its own)."""
        import pyarrow.fs as pafs

        return bool(filesystem().get_file_info(self._fs_path).type == pafs.FileType.Directory)

    def exists(self) -> bool:
        import pyarrow.fs as pafs

        return bool(filesystem().get_file_info(self._fs_path).type != pafs.FileType.NotFound)

    def read_bytes(self) -> bytes:
        """The object's bytes; FileNotFoundError if there is none (as for a Path)."""
        if not self.is_file():
            raise FileNotFoundError(str(self))
        with filesystem().open_input_stream(self._fs_path) as stream:
            return bytes(stream.read())

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> None:
        # One PUT: readers see the whole object or none, never part of it.
        with filesystem().open_output_stream(self._fs_path) as stream:
            stream.write(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(text.encode(encoding))

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: a prefix exists once an object is written under it."""

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            filesystem().delete_file(self._fs_path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def rglob(self, name: str) -> Iterator[S3Path]:
        """Every prefix or object under this one whose last part is `name` (no wildcards)."""
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(self._fs_path, recursive=True, allow_not_found=True)
        for info in filesystem().get_file_info(selector):
            if info.base_name == name:
                yield S3Path(SCHEME + info.path)


Location = Path | S3Path


def at(root: str | os.PathLike[str] | S3Path) -> Location:
    """The location a data directory names: an S3Path for s3://…, else a local Path."""
    if isinstance(root, S3Path):
        return root
    text = os.fspath(root)
    return S3Path(text) if text.startswith(SCHEME) else Path(text)


def put_if_absent(path: Location, data: bytes) -> bool:
    """Write `data` at `path` unless something is there already; whether it was written.
    Of several processes (on several machines) trying at once, exactly one succeeds."""
    if isinstance(path, S3Path):
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        try:
            s3_client().put_object(Bucket=path.bucket, Key=path.key, Body=data, IfNoneMatch="*")
        except ClientError as exc:
            # 412: it exists; 409: another conditional put of the same key is under way.
            if exc.response.get("Error", {}).get("Code") in _CONDITION_FAILED:
                return False
            raise
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.{os.getpid()}.part"
    partial.write_bytes(data)
    try:
        os.link(partial, path)  # fails if it exists
    except FileExistsError:
        return False
    finally:
        partial.unlink(missing_ok=True)
    return True


_CONDITION_FAILED = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def write_atomic(path: Location, data: bytes) -> None:
    """Replace what is at `path` with `data` so that a reader sees the old or the new bytes,
    never part (locally: a synced file renamed into place)."""
    if isinstance(path, S3Path):
        path.write_bytes(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.{os.getpid()}.part"
    try:
        with open(partial, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)  # a full disk leaves no half file behind
        raise


@functools.cache
def filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem, pointed at AWS_ENDPOINT_URL when set (a test server or a
    non-AWS object store); credentials and region from the AWS_* variables."""
    import pyarrow.fs as pafs

    options: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    return pafs.S3FileSystem(**options)


@functools.cache
def s3_client() -> Any:
    """A boto3 S3 client (for conditional puts, which pyarrow does not make); boto3 reads
    the endpoint and credentials from the same AWS_* variables."""
    import boto3  # type: ignore[import-untyped]

    return boto3.client("s3")


@functools.cache
def _duckdb_filesystem() -> Any:
    from fsspec.implementations.arrow import ArrowFSWrapper  # type: ignore[import-untyped]

    return ArrowFSWrapper(filesystem())  # its protocol is "s3", so s3:// URIs reach it


def attach(con: duckdb.DuckDBPyConnection) -> None:
    """Let DuckDB read s3:// URIs, once this process uses S3: through fsspec over pyarrow's
    filesystem (measured faster than DuckDB scanning a pyarrow dataset, docs/decisions/0018)."""
    if _used:
        con.register_filesystem(_duckdb_filesystem())


def read_parquet(files: str | list[str], columns: list[str] | None = None) -> pa.Table:
    """Parquet files (a Delta version's `file_uris`, local paths or s3:// URIs) as one table.
    pyarrow infers S3 from one URI but not from a list of them: the filesystem is given."""
    import pyarrow.parquet as pq

    names = [files] if isinstance(files, str) else list(files)
    if names and names[0].startswith(SCHEME):
        keys = [n[len(SCHEME) :] for n in names]
        return pq.read_table(keys, columns=columns, filesystem=filesystem())
    return pq.read_table(names, columns=columns)


def parquet_rows(file: str) -> int:
    """The rows of one Parquet file, from its footer."""
    import pyarrow.parquet as pq

    if file.startswith(SCHEME):
        return int(pq.ParquetFile(file[len(SCHEME) :], filesystem=filesystem()).metadata.num_rows)
    return int(pq.ParquetFile(file).metadata.num_rows)
