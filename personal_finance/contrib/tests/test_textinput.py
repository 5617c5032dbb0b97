"""The one text-input reader (contrib/textinput.py): inputs, BOM, bad UTF-8, empty, oversized."""

from __future__ import annotations

import io
import random
from typing import ClassVar

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from personal_finance.contrib import textinput
from personal_finance.contrib.textinput import (
    EMPTY,
    TOO_LARGE,
    UNDECODABLE,
    UNREADABLE,
    TextInputError,
    read_text,
    source_name,
)

CSV = "date,symbol,close\n2024-01-02,AAPL,185.64\n2024-01-03,AAPL,184.25\n"
BOM = b"\xef\xbb\xbf"


class NoRead(io.BytesIO):
    """A file-like whose read() fails the test: proves a size check came first."""

    def read(self, *args):
        raise AssertionError("read() was called")


class Stream(io.RawIOBase):
    """A stream of unknown size: records how much each read() asked for."""

    def __init__(self, data: bytes):
        self.data = io.BytesIO(data)
        self.asked: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        return self.data.read(size)


# --- inputs --------------------------------------------------------------------------------------
def test_path_bytes_str_and_file_likes_read_the_same_text(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_bytes(CSV.encode())
    sources = [
        path,
        CSV.encode(),
        bytearray(CSV.encode()),
        memoryview(CSV.encode()),
        CSV,
        io.BytesIO(CSV.encode()),
        io.StringIO(CSV),
        SimpleUploadedFile("prices.csv", CSV.encode(), content_type="text/csv"),
    ]
    for source in sources:
        assert read_text(source) == CSV, type(source)
    with path.open("rb") as fh:
        assert read_text(fh, max_bytes=1000) == CSV


def test_a_byte_order_mark_is_dropped():
    assert read_text(BOM + CSV.encode()) == CSV
    assert read_text("\ufeff" + CSV) == CSV
    assert read_text(io.BytesIO(BOM + CSV.encode())) == CSV


def test_source_names():
    assert source_name("data/prices.csv") == "data/prices.csv"
    upload = SimpleUploadedFile("mine.csv", b"x")
    assert source_name(upload) == "mine.csv"
    assert source_name(b"x") == "<upload>"
    with pytest.raises(TextInputError) as info:
        read_text(SimpleUploadedFile("mine.csv", b""))
    assert info.value.source == "mine.csv"
    with pytest.raises(TextInputError) as info:
        read_text("", name="given.csv")
    assert str(info.value) == "given.csv: the file is empty"


def test_other_types_are_a_programming_error():
    with pytest.raises(TypeError):
        read_text(42)


# --- bad UTF-8 ------------------------------------------------------------------------------------
def test_bad_utf8_names_the_data_row_and_the_column():
    raw = b"id,date,symbol,qty\nb1,2024-01-02,XYZ,5\nb2,2024-01-03," + "Ünï".encode("latin-1") + b",5\n"
    with pytest.raises(TextInputError) as info:
        read_text(raw, name="tx.csv")
    err, offset = info.value, raw.index(b"\xdc")
    assert (err.reason, err.row, err.column) == (UNDECODABLE, 2, "symbol")
    assert err.details == {"offset": offset, "byte": b"\xdc", "line": 3}
    assert str(err) == f"tx.csv, row 2, column 'symbol': not UTF-8 text (byte {offset}); save the file as UTF-8"


@pytest.mark.parametrize(
    ("raw", "row", "column"),
    [
        (b"a,b\xff,c\n1,2,3\n", 0, None),  # in the header: row 0, no column
        (BOM + b"a,b,c\n1,\xff,3\n", 1, "b"),  # the BOM is not part of the first name
        (b"a,b,c\r\n1,2,\xff\r\n", 1, "c"),  # CRLF line ends
        (b'a,b,c\n"1,5",\xff,3\n', 1, "b"),  # a quoted comma is not a column break
        (b"a,b\n1,2,\xff\n", 1, None),  # beyond the header
        (b",Open\n\xff,1\n", 1, None),  # an unnamed header cell
        (b"a,b\n\n\n1,\xff\n", 3, "b"),  # blank lines count as rows
    ],
)
def test_bad_utf8_rows_and_columns(raw, row, column):
    with pytest.raises(TextInputError) as info:
        read_text(raw)
    assert (info.value.row, info.value.column) == (row, column)


# --- empty ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", [b"", b" \r\n\t\n", BOM, BOM + b"\n", "", "\ufeff", io.BytesIO(b""), "  \n"])
def test_empty_input_is_refused(source):
    with pytest.raises(TextInputError) as info:
        read_text(source)
    assert info.value.reason == EMPTY
    assert info.value.message == "the file is empty"
    assert info.value.row is None


# --- too large -------------------------------------------------------------------------------------
def test_oversized_bytes_and_text_are_refused():
    assert read_text(b"x" * 100, max_bytes=100) == "x" * 100
    with pytest.raises(TextInputError) as info:
        read_text(b"x" * 101, max_bytes=100)
    assert info.value.reason == TOO_LARGE
    assert info.value.details["size"] == 101
    assert info.value.details["limit"] == 100
    with pytest.raises(TextInputError, match="limit is"):
        read_text("é" * 60, max_bytes=100)  # 120 bytes of UTF-8


def test_an_oversized_upload_is_refused_before_it_is_read():
    upload = NoRead(b"")
    upload.size = 3 * 1_048_576
    upload.name = "big.csv"
    with pytest.raises(TextInputError) as info:
        read_text(upload, max_bytes=1_048_576)
    assert str(info.value) == "big.csv: the file is 3.0 MB; the limit is 1.0 MB"
    real = SimpleUploadedFile("big.csv", b"x" * 200)
    with pytest.raises(TextInputError, match="limit is"):
        read_text(real, max_bytes=100)


def test_an_oversized_path_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 2000)

    def no_open(*args, **kwargs):
        raise AssertionError("open() was called")

    monkeypatch.setattr(textinput, "open", no_open, raising=False)
    with pytest.raises(TextInputError) as info:
        read_text(path, max_bytes=1000)
    assert info.value.reason == TOO_LARGE
    assert info.value.details["size"] == 2000


def test_a_stream_of_unknown_size_is_read_no_further_than_the_limit():
    stream = Stream(b"x" * 10_000)
    with pytest.raises(TextInputError) as info:
        read_text(stream, max_bytes=100)
    assert stream.asked == [101]
    assert info.value.reason == TOO_LARGE
    assert info.value.details["size"] is None
    assert "more than" in info.value.message


def test_an_upload_understating_its_size_is_still_refused():
    upload = SimpleUploadedFile("small.csv", b"x" * 200)
    upload.size = 10
    with pytest.raises(TextInputError, match="limit is"):
        read_text(upload, max_bytes=100)


# --- unreadable ----------------------------------------------------------------------------------
def test_unreadable_inputs(tmp_path):
    closed = io.BytesIO(b"x")
    closed.close()

    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise OSError(5, "Input/output error")

    for source, fragment in [
        (tmp_path / "nope.csv", "No such file"),
        (tmp_path, "Is a directory"),
        (closed, "closed file"),
        (Broken(), "Input/output error"),
    ]:
        with pytest.raises(TextInputError) as info:
            read_text(source, max_bytes=100)
        assert info.value.reason == UNREADABLE
        assert str(info.value).startswith(f"{source_name(source)}: cannot read file: ")
        assert fragment in str(info.value)


# --- the error type --------------------------------------------------------------------------------
def test_str_names_what_is_known():
    assert str(TextInputError("bad", source="f.csv", row=3, column="Close")) == "f.csv, row 3, column 'Close': bad"
    assert str(TextInputError("bad", row=0)) == "row 0: bad"
    assert str(TextInputError("bad", source="f.csv")) == "f.csv: bad"
    assert str(TextInputError("bad")) == "bad"
    assert isinstance(TextInputError("bad"), ValueError)


def test_a_domain_subclass_rewords_the_messages_and_places_file_errors():
    class LedgerError(TextInputError):
        messages: ClassVar[dict[str, str]] = {
            **TextInputError.messages,
            EMPTY: "no header",
            UNDECODABLE: "byte {offset} ({byte!r}) on line {line}",
        }
        file_row: ClassVar[int | None] = 0

    with pytest.raises(LedgerError) as info:
        read_text(b"", error=LedgerError)
    assert str(info.value) == "<upload>, row 0: no header"
    with pytest.raises(LedgerError) as info:
        read_text(b"a,b\n1,\xfe\n", error=LedgerError, name="l.csv")
    assert str(info.value) == "l.csv, row 1, column 'b': byte 6 (b'\\xfe') on line 2"


# --- fuzz ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_give_text_or_the_one_error(seed):
    rng = random.Random(seed)
    pieces = [b"a,b,c\n", b"\n", b"\r\n", b",", b'"', BOM, b"\xff", b"\xc3", b"\xa9", b"\xe2\x82\xac", b"\x00", b" "]
    reasons = set()
    for _ in range(300):
        if rng.random() < 0.5:
            raw = rng.randbytes(rng.randrange(0, 64))
        else:
            raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 24)))
        max_bytes = rng.choice([None, 0, 8, 32, 1000])
        source = rng.choice([raw, io.BytesIO(raw), SimpleUploadedFile("f.csv", raw)])
        try:
            text = read_text(source, max_bytes=max_bytes)
        except TextInputError as exc:  # anything else fails the test
            reasons.add(exc.reason)
            str(exc)  # formats
            continue
        assert text == raw.decode("utf-8-sig")
        assert text.strip()
        assert max_bytes is None or len(raw) <= max_bytes
    assert reasons <= {TOO_LARGE, EMPTY, UNDECODABLE}
