import io

import pytest

from personal_finance.contrib.textinput import TextInputError
from personal_finance.data_sources.price_csv import PriceCSVError, read_price_csv


def _csv(text: str) -> io.BytesIO:
    buf = io.BytesIO(text.encode())
    buf.name = "prices.csv"
    return buf


def test_reads_named_date_column_case_insensitive():
    df = read_price_csv(
        _csv("date,open,HIGH,Low,close,Volume\n2024-01-02,1,2,0.5,1.5,100\n2024-01-03,1.5,2,1,1.8,200\n")
    )
    assert list(df.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert df.index.name == "Date"
    assert df.loc["2024-01-03", "Close"] == 1.8


def test_unnamed_first_column_and_timestamps_with_offsets():
    df = read_price_csv(_csv(",Open,High,Low,Close\n2024-01-02T15:00:00-05:00,1,2,0.5,1.5\n"))
    assert str(df.index[0]) == "2024-01-02 20:00:00"
    assert df.index.tz is None


@pytest.mark.parametrize(
    ("text", "row", "column", "fragment"),
    [
        ("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\nnot-a-date,1,2,1,1\n", 2, "Date", "unparseable date"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,x,0.5,1.5\n", 1, "High", "not a number"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,2,,1.5\n", 1, "Low", "empty value"),
    ],
)
def test_bad_cells_name_row_and_column(text, row, column, fragment):
    with pytest.raises(PriceCSVError) as info:
        read_price_csv(_csv(text))
    assert info.value.row == row
    assert info.value.column == column
    assert fragment in str(info.value)
    assert "prices.csv" in str(info.value)


def test_missing_column_empty_file_and_encoding():
    with pytest.raises(PriceCSVError, match="missing column"):
        read_price_csv(_csv("Date,Open,High,Close\n2024-01-02,1,2,1\n"))
    with pytest.raises(PriceCSVError, match="empty"):
        read_price_csv(_csv(""))
    with pytest.raises(PriceCSVError, match="UTF-8"):
        read_price_csv(io.BytesIO("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\xe9\n".encode("latin-1")))


def test_allow_missing_keeps_nan():
    df = read_price_csv(_csv("Date,Open,High,Low,Close\n2024-01-02,1,2,,1.5\n"), allow_missing=True)
    assert df["Low"].isna().iloc[0]


def test_bad_utf8_names_file_row_and_column(tmp_path):
    path = tmp_path / "prices.csv"
    raw = "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-03,1,2,0.5,1\xe9\n".encode("latin-1")
    path.write_bytes(raw)
    with pytest.raises(TextInputError) as info:  # the one error type of every text reader
        read_price_csv(str(path))
    assert isinstance(info.value, PriceCSVError)
    assert (info.value.row, info.value.column) == (2, "Close")
    offset = raw.index(b"\xe9")
    assert str(info.value) == f"{path}, row 2, column 'Close': not UTF-8 text (byte {offset}); save the file as UTF-8"


def test_reads_bytes_and_refuses_a_missing_file(tmp_path):
    assert read_price_csv(b"Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n")["Close"].iloc[0] == 1.5
    with pytest.raises(PriceCSVError, match="cannot read file"):
        read_price_csv(str(tmp_path / "nope.csv"))
