"""Property tests of the manifest parser: whatever a JSONL or CSV manifest holds, reading it yields an
Entry or a BadRow (with its line) per row, or raises ManifestError for the file: never anything else.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderator.manifest import FIELDS, BadRow, Entry, ManifestError, read_manifest
from moderator.policy import load_policy

POLICY = load_policy()
SETTINGS = settings(derandomize=True, max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Values a careless or hostile producer writes: huge, tiny, non-finite, wrong type, nested, odd text.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["../x.jpg", "/etc/passwd", "a.jpg", "", "1.9", "-5", "1e400", "NaN", "9999-12-31T23:59:59Z",
                     "2026-11-20T10:00:00Z", "gore", "CSAM-Suspected", "nope", "a\x00b"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                      max_leaves=6)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8))
json_rows = st.dictionaries(keys, values, max_size=6).map(json.dumps)
raw_lines = st.one_of(json_rows, st.text(max_size=60).map(lambda t: t.replace("\n", " ")),
                      st.sampled_from(["[" * 5000, '{"path": NaN}', '{"path": "a.jpg", "priority": Infinity}',
                                       '{"path": "a.jpg", "path": "b.jpg"}', "\ufeff{}", "null", "[]"]))
csv_text = st.one_of(
    st.text(max_size=300),
    st.tuples(st.lists(st.sampled_from([*FIELDS, "x", " path", ""]), min_size=1, max_size=5),
              st.lists(st.lists(st.text(max_size=12), max_size=6), max_size=5)).map(
        lambda t: "\n".join([",".join(t[0]), *(",".join(map(_quote, row)) for row in t[1])])),
)
ORIGIN = re.compile(r"m\.(jsonl|csv):\d+")


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n\r') else cell


def read(name: str, data: bytes) -> list[Entry | BadRow] | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return list(read_manifest(path, POLICY))
        except ManifestError:
            return None


def check_rows(rows: list[Entry | BadRow]) -> None:
    for row in rows:
        assert isinstance(row, Entry | BadRow)
        assert ORIGIN.fullmatch(row.origin), row.origin
        if isinstance(row, BadRow):
            assert row.reason and "\n" not in row.reason[:200]
        else:
            assert -1000 <= row.priority <= 1000 and 1 <= row.report_count <= 10**9
            assert row.sla_minutes is None or 0 < row.sla_minutes <= 525_600
            assert row.category is None or row.category in POLICY.categories


@SETTINGS
@given(st.lists(raw_lines, max_size=8), st.booleans())
def test_any_jsonl_gives_one_row_per_nonblank_line(lines, bom):
    data = ("\ufeff" if bom else "").encode() + "\n".join(lines).encode("utf-8", "surrogatepass")
    rows = read("m.jsonl", data)
    assert rows is not None  # a JSONL file is never refused as a whole: each line stands alone
    check_rows(rows)
    text = data.decode("utf-8", "surrogatepass").removeprefix("\ufeff")
    nonblank = [n for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    assert [int(r.origin.split(":")[1]) for r in rows] == nonblank


@SETTINGS
@given(st.lists(values, max_size=4))
def test_jsonl_with_arbitrary_json_values_in_every_field(field_values):
    lines = [json.dumps(dict(zip(FIELDS, field_values[i:] + field_values[:i], strict=False)))
             for i in range(len(field_values))]
    rows = read("m.jsonl", "\n".join(lines).encode())
    assert rows is not None and len(rows) == len(lines)
    check_rows(rows)


@SETTINGS
@given(csv_text, st.booleans())
def test_any_csv_is_rows_or_a_manifest_error(text, bom):
    rows = read("m.csv", ("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass"))
    if rows is not None:
        check_rows(rows)


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_as_either_kind(data):
    for name in ("m.jsonl", "m.csv"):
        rows = read(name, data)
        if rows is not None:
            check_rows(rows)
