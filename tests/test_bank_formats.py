"""Bank files: round trips in every format, format detection, and whole-file rejection with line numbers."""

from __future__ import annotations

import gc
from dataclasses import FrozenInstanceError, fields

import pytest

from moderator.bank_formats import (
    BankFormatError,
    BankRow,
    detect_format,
    new_row,
    read_bank_file,
    write_bank_file,
)
from moderator.gc_pause import collector_paused

PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_B = "0123456789abcdef" * 4
PHASH_A = "c3e1b0986c3c7e1f"
MD5_A = "d41d8cd98f00b204e9800998ecf8427e"
SHA_A = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

ROWS = [
    BankRow("pdq", PDQ_A, "csam_suspected", "ncmec-2026-11"),
    BankRow("pdq", PDQ_B, "spam, scam", 'vendor "x"'),  # a comma and quotes survive CSV quoting
    BankRow("phash", PHASH_A, "hate_symbol", ""),
    BankRow("md5", MD5_A, "", "hub"),
    BankRow("sha256", SHA_A, "gore", "hub"),
]


@pytest.mark.parametrize("fmt", ["csv", "te-csv"])
def test_round_trip_keeps_every_field(tmp_path, fmt):
    path = tmp_path / f"bank.{fmt}"
    assert write_bank_file(ROWS, path, fmt) == len(ROWS)
    assert detect_format(path) == fmt
    assert read_bank_file(path) == ROWS


def test_round_trip_te_csv_keeps_category(tmp_path):
    rows = [BankRow("pdq", PDQ_A, "media_type_photo", "Sample Signals", "NEGATIVE_CLASS")]
    for fmt in ("te-csv", "csv"):
        write_bank_file(rows, tmp_path / "b", fmt)
        assert read_bank_file(tmp_path / "b") == rows


def test_round_trip_te_lines(tmp_path):
    rows = [BankRow(r.signal_type, r.hash) for r in ROWS]
    write_bank_file(rows, tmp_path / "bank.txt", "te-lines")
    assert (tmp_path / "bank.txt").read_text().splitlines()[0] == f"pdq {PDQ_A}"
    assert detect_format(tmp_path / "bank.txt") == "te-lines"
    assert read_bank_file(tmp_path / "bank.txt") == rows


def test_te_lines_refuses_to_drop_labels_silently(tmp_path):
    with pytest.raises(ValueError, match="cannot hold labels"):
        write_bank_file(ROWS, tmp_path / "bank.txt", "te-lines")
    write_bank_file(ROWS, tmp_path / "bank.txt", "te-lines", lossy=True)
    assert [r.hash for r in read_bank_file(tmp_path / "bank.txt")] == [r.hash for r in ROWS]


def test_te_lines_with_comments_blanks_and_threatexchange_names(tmp_path):
    path = tmp_path / "te.txt"
    path.write_text(
        "# exported from ThreatExchange\n\n"
        f"pdq {PDQ_A}\n"
        f"PDQ {PDQ_B.upper()}\n"
        "   \n"
        f"video_md5 {MD5_A}\n"
        f"video_sha256 {SHA_A}\n"
    )
    assert read_bank_file(path) == [
        BankRow("pdq", PDQ_A), BankRow("pdq", PDQ_B), BankRow("md5", MD5_A), BankRow("sha256", SHA_A)
    ]


def test_bare_hashes_take_the_callers_signal_type(tmp_path):
    path = tmp_path / "bare.txt"
    path.write_text(f"{PDQ_A}\n{PDQ_B}\n")
    assert read_bank_file(path, signal_type="pdq") == [BankRow("pdq", PDQ_A), BankRow("pdq", PDQ_B)]
    with pytest.raises(BankFormatError, match="line 1: no signal type"):
        read_bank_file(path)


def test_csv_without_signal_column_needs_signal_type(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text(f"hash,label,source\n{PHASH_A},spam,manual\n")
    assert read_bank_file(path, signal_type="phash") == [BankRow("phash", PHASH_A, "spam", "manual")]
    with pytest.raises(BankFormatError, match="header lacks signal_type"):
        read_bank_file(path)


def test_every_bad_line_is_reported_and_nothing_returned(tmp_path):
    path = tmp_path / "bank.csv"
    good = [f"pdq,{PDQ_A},spam,x"] * 5
    lines = ["signal_type,hash,label,source", *good, f"pdq,{PDQ_A[:-1]},spam,x", f"pdq,{PDQ_A},spam,x",
             f"pdq,{'g' * 64},spam,x", f"blurhash,{PDQ_A},spam,x", "pdq,only-three,fields"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BankFormatError) as info:
        read_bank_file(path)
    err = info.value
    assert [line for line, _ in err.problems] == [7, 9, 10, 11]
    assert str(err) == "bank.csv: 4 invalid lines, first at line 7: pdq hash must be 64 hex chars, got 63"
    assert "'g'" in err.problems[1][1]
    assert "unknown signal type 'blurhash'" in err.problems[2][1]
    assert "expected 4 fields, got 3" in err.problems[3][1]


def test_te_lines_errors_count_physical_lines(tmp_path):
    path = tmp_path / "te.txt"
    path.write_text(f"# header\n\npdq {PDQ_A}\npdq nothex\n")
    with pytest.raises(BankFormatError, match=r"^te.txt: 1 invalid line, first at line 4: pdq hash"):
        read_bank_file(path)


def test_csv_header_is_required(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text(f"pdq,{PDQ_A},spam,x\n")
    with pytest.raises(BankFormatError, match="line 1: header lacks"):
        read_bank_file(path, fmt="csv")


def test_unknown_columns_are_refused(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text(f"signal_type,hash,label,source,severity\npdq,{PDQ_A},spam,x,3\n")
    with pytest.raises(BankFormatError, match="unknown column 'severity'"):
        read_bank_file(path)


def test_threatexchange_dataset_csv(tmp_path):
    path = tmp_path / "dataset.csv"
    path.write_text(
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{PDQ_A},Sample Signals,INVESTIGATION_SEED,media_type_photo\n"
        f"video_md5,{MD5_A},Sample Signals,POSITIVE_CLASS,\n"
    )
    assert detect_format(path) == "te-csv"
    assert read_bank_file(path) == [
        BankRow("pdq", PDQ_A, "media_type_photo", "Sample Signals", "INVESTIGATION_SEED"),
        BankRow("md5", MD5_A, "", "Sample Signals", "POSITIVE_CLASS"),
    ]


def test_detect_format_skips_comments_and_empty_files(tmp_path):
    (tmp_path / "a").write_text(f"\n# note\npdq {PDQ_A}\n")
    (tmp_path / "b").write_text("")
    (tmp_path / "c").write_text("\ufeffsignal_type,hash,label,source\n")  # a BOM from Excel
    assert detect_format(tmp_path / "a") == "te-lines"
    assert detect_format(tmp_path / "b") == "te-lines"
    assert read_bank_file(tmp_path / "b") == []
    assert detect_format(tmp_path / "c") == "csv"


def test_unknown_format_name(tmp_path):
    (tmp_path / "a").write_text("")
    with pytest.raises(ValueError, match="unknown bank format"):
        read_bank_file(tmp_path / "a", fmt="xml")
    with pytest.raises(ValueError, match="unknown bank format"):
        write_bank_file([], tmp_path / "a", "xml")  # type: ignore[arg-type]


def test_binary_file_is_one_clear_error(tmp_path):
    path = tmp_path / "bank.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(BankFormatError, match="bank.bin: 1 invalid line, first at line 1: not UTF-8 text"):
        read_bank_file(path)


def test_the_readers_rows_are_bank_rows_field_for_field():
    values = ("pdq", PDQ_A, "spam", "vendor x", "POSITIVE_CLASS")
    made, plain = new_row(*values), BankRow(*values)
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert vars(made) == vars(plain) and list(vars(made)) == [f.name for f in fields(BankRow)]
    with pytest.raises(FrozenInstanceError):
        made.label = "other"


@pytest.mark.parametrize("was_on", [True, False])
def test_reading_pauses_the_collector_and_gives_it_back_as_it_was(tmp_path, was_on):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(f"pdq {PDQ_A}\n", encoding="utf-8")
    bad.write_text(f"pdq {PDQ_A}\npdq nothex\n", encoding="utf-8")
    (gc.enable if was_on else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() == was_on
        assert read_bank_file(good) == [BankRow("pdq", PDQ_A)]
        assert gc.isenabled() == was_on
        with pytest.raises(BankFormatError, match="line 2"):
            read_bank_file(bad)
        assert gc.isenabled() == was_on  # an error on the way out gives it back too
    finally:
        gc.enable()
