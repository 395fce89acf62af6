"""The registers as a new store's first load (`python -m metrics init`): the community and
grid registers checked like any upload (`validate`: headers, every cell, the rules within a
row, duplicate keys), as one file for every community instead of one community's rows, and
every grid's community in the community register loaded with it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from metrics.ingest.problems import Problem
from metrics.ingest.validation import Validation, header_names, normalise_header, validate
from metrics.schemas import DATASETS
from metrics.store import Store

REGISTERS = ("communities", "grids")
# The rules of an upload that do not apply to a whole register: its rows are every
# community's, and the community register is loaded with it, not before it.
_NOT_FOR_A_REGISTER = {"ingest_other_community", "ingest_unregistered"}
_ANY_COMMUNITY = "INIT"  # stands in for "the uploading community": matches no row


def validate_register(
    data: bytes, file_name: str, dataset: str, store: Store, communities: pa.Table | None = None
) -> Validation:
    """Every problem of a register file; `communities` are the community register's rows
    (for the grids, whose communities must be among them). Nothing is written."""
    if dataset not in REGISTERS:
        raise ValueError(f"not a register: {dataset}")
    found = validate(data, file_name, dataset, _ANY_COMMUNITY, store)
    found.problems = [p for p in found.problems if p.key not in _NOT_FOR_A_REGISTER]
    if dataset == "grids" and found.rows is not None and found.row_numbers is not None:
        known = communities.column("community_id") if communities is not None else pa.array([])
        column = found.rows.column("community_id")
        stray = pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, known)))
        header = _header(found, "community_id")
        for i in pc.indices_nonzero(pc.fill_null(stray, False)).to_pylist():
            code = column[i].as_py()
            row = int(found.row_numbers[i].as_py())
            params = {"community": code}
            found.problems.append(Problem(row, header, code, "ingest_unregistered", params))
        found.problems.sort(key=lambda p: p.row or 0)
    return found


def _header(found: Validation, name: str) -> str:
    """The file's own header of field `name` (problems name columns as the file does)."""
    spec = DATASETS[found.dataset]
    names = header_names(spec)
    headers = found.raw.headers if found.raw is not None else []
    return next((h for h in headers if names.get(normalise_header(h)) == name), spec.field(name).zh)
