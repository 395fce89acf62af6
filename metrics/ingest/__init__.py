"""Community uploads: validate a file against the data contract, preview, commit, annotate.

The upload page and `python -m metrics ingest` call the same functions:

    v = validate(data, filename, dataset, community_id, store, period=..., progress=...)
    v.ok, v.problems, v.row_count, v.unknown_columns   # show every problem at once
    d = preview(store, v, replace=False)               # new / changed / unchanged / deleted
    r = commit(store, v, user="...", replace=False)    # one atomic Delta commit (or none)
    annotated_file(v)                                  # the file back with a 错误说明 column
    history(store, dataset), rollback(store, dataset, version, user="...")

The flow, one module a step:

    metrics.readers      read: bytes (CSV in any encoding, XLSX, Parquet) → text cells
    validation.py        match the headers to the contract's fields, then for each field
      cells.py             parse text cells into typed values (dates, numbers, codes, ...)
      checks.py            check them: required, allowed, ranges, rules across a row,
                           the community, its grids and the period, duplicate keys
    committing.py        preview the diff by natural key; commit it in one Delta commit
    versions.py          the history of commits; rollback to an earlier version
    annotate.py          the file given back with its problems
    problems.py          Problem (in the file) and IngestError (in the request)
    lookups.py           what validation and commit ask the store

Validation is column-at-a-time (pyarrow compute, DuckDB, pandas): a million rows take
seconds, and Python only loops over the rows that have problems. The contract's rules
(DATE_ORDER, STATUS_RULES, MIN_DATE, EXAMPLE_FIELD) live in metrics.schemas.
"""

from metrics.ingest.annotate import annotated_file
from metrics.ingest.cells import (
    EXCEL_EPOCH_OFFSET,
    EXCEL_MIN_SERIAL,
    FALSE_WORDS,
    TRUE_WORDS,
    ParseResult,
    quarters_in,
)
from metrics.ingest.committing import (
    CommitResult,
    Diff,
    commit,
    keep_upload,
    preview,
    rows_in_period,
)
from metrics.ingest.lookups import keys_elsewhere, registered_communities
from metrics.ingest.problems import IngestError, Problem
from metrics.ingest.validation import (
    Progress,
    Validation,
    header_names,
    normalise_header,
    validate,
)
from metrics.ingest.versions import history, rollback, rollback_preview
from metrics.schemas import DATE_ORDER, EXAMPLE_FIELD, EXAMPLE_MARKS, MIN_DATE, STATUS_RULES

__all__ = [
    "DATE_ORDER",
    "EXAMPLE_FIELD",
    "EXAMPLE_MARKS",
    "EXCEL_EPOCH_OFFSET",
    "EXCEL_MIN_SERIAL",
    "FALSE_WORDS",
    "MIN_DATE",
    "STATUS_RULES",
    "TRUE_WORDS",
    "CommitResult",
    "Diff",
    "IngestError",
    "ParseResult",
    "Problem",
    "Progress",
    "Validation",
    "annotated_file",
    "commit",
    "header_names",
    "history",
    "keep_upload",
    "keys_elsewhere",
    "normalise_header",
    "preview",
    "quarters_in",
    "registered_communities",
    "rollback",
    "rollback_preview",
    "rows_in_period",
    "validate",
]
