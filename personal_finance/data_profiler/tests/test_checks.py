import datetime as dt

import numpy as np
import pandas as pd
import pytest

from personal_finance.data_profiler.calendars import calendar_for
from personal_finance.data_profiler.checks import (
    CHECKS,
    MAX_DATES,
    ProfileError,
    ProfileInputError,
    UnknownCalendarError,
    count_by_severity,
    profile_csv,
    profile_frame,
    raise_for_errors,
    rows_with_errors,
)

from .conftest import clean_frame, to_csv


def iso(frame, *positions):
    return [frame.index[p].date().isoformat() for p in positions]


def only(report, check, severity):
    """The report has exactly one finding, of ``check`` and ``severity``; return it."""
    assert [(f["check"], f["severity"]) for f in report["findings"]] == [(check, severity)], report["findings"]
    finding = report["findings"][0]
    assert set(finding) == {"check", "severity", "dates", "detail"}
    return finding


def test_clean_series_has_no_findings(clean):
    report = profile_frame(clean)
    assert report == {"rows": 250, "start": "2023-01-03", "end": "2023-12-29", "findings": []}
    assert profile_csv(to_csv(clean)) == report
    assert rows_with_errors(report) == set()
    raise_for_errors(report)  # no error: nothing raised


@pytest.mark.parametrize("seed", range(5))
def test_clean_series_of_other_seeds_and_years_have_no_findings(seed):
    assert profile_frame(clean_frame("2015-01-02", "2019-12-31", seed=seed))["findings"] == []


# -- one planted defect per check ----------------------------------------------------------------


def test_unparseable_dates(clean):
    lines = to_csv(clean).decode().splitlines()
    lines.insert(41, "2023-02-30,100,101,99,100,1000")
    lines.insert(91, "yesterday,100,101,99,100,1000")
    report = profile_csv("\n".join(lines).encode())
    finding = only(report, "unparseable_dates", "error")
    assert finding["dates"] == ["2023-02-30", "yesterday"]
    assert "rows 41, 91" in finding["detail"]
    assert report["rows"] == 252
    assert rows_with_errors(report) == set()  # not dates: the date-parsing reader refuses them itself


def test_duplicate_dates(clean):
    planted = pd.concat([clean.iloc[:60], clean.iloc[59:60], clean.iloc[60:]])
    finding = only(profile_frame(planted), "duplicate_dates", "error")
    assert finding["dates"] == iso(clean, 59)
    assert rows_with_errors(profile_frame(planted)) == {clean.index[59].date()}


def test_unsorted_dates(clean):
    order = list(range(250))
    order[100], order[101] = 101, 100
    finding = only(profile_frame(clean.iloc[order]), "unsorted_dates", "warning")
    assert finding["dates"] == iso(clean, 100)


def test_missing_close_is_an_error(clean):
    planted = clean.copy()
    planted.iloc[[30, 170], planted.columns.get_loc("Close")] = np.nan
    finding = only(profile_frame(planted), "missing_values", "error")
    assert finding["dates"] == iso(clean, 30, 170)


def test_missing_open_high_low_is_a_warning(clean):
    planted = clean.copy()
    planted.iloc[12, planted.columns.get_loc("Open")] = np.nan
    planted.iloc[13, planted.columns.get_loc("Low")] = np.nan
    finding = only(profile_frame(planted), "missing_values", "warning")
    assert finding["dates"] == iso(clean, 12, 13)
    assert "Open on 1 row" in finding["detail"]


def test_non_numeric_cells_in_a_csv_are_missing_values(clean):
    text = to_csv(clean).decode().splitlines()
    cells = text[5].split(",")
    cells[4] = "n/a"
    text[5] = ",".join(cells)
    finding = only(profile_csv("\n".join(text).encode()), "missing_values", "error")
    assert finding["dates"] == iso(clean, 4)


def test_non_positive_prices(clean):
    planted = clean.copy()
    planted.iloc[77, :4] = 0.0
    finding = only(profile_frame(planted), "non_positive_prices", "error")
    assert finding["dates"] == iso(clean, 77)
    assert rows_with_errors(profile_frame(planted)) == {clean.index[77].date()}


def test_ohlc_inconsistent(clean):
    planted = clean.copy()
    row = planted.iloc[140]
    planted.iloc[140, planted.columns.get_loc("High")] = min(row["Open"], row["Close"]) * 0.99
    planted.iloc[141, planted.columns.get_loc("Low")] = planted.iloc[141]["High"] * 1.01
    finding = only(profile_frame(planted), "ohlc_inconsistent", "error")
    assert finding["dates"] == iso(clean, 140, 141)


def test_calendar_gaps(clean):
    planted = clean.drop(clean.index[[50, 51, 52, 200]])
    finding = only(profile_frame(planted), "calendar_gaps", "warning")
    assert finding["dates"] == iso(clean, 50, 51, 52, 200)
    assert finding["detail"].startswith("4 sessions of the XNYS calendar")


def test_calendar_gaps_list_is_capped_with_the_total_in_the_detail(clean):
    planted = clean.iloc[::2]  # every other session missing: 125 gaps
    finding = next(f for f in profile_frame(planted)["findings"] if f["check"] == "calendar_gaps")
    assert len(finding["dates"]) == MAX_DATES
    assert finding["dates"][0] == iso(clean, 1)[0]
    assert "124 sessions" in finding["detail"]  # between the first and the last row
    assert "first 50 listed" in finding["detail"]


def test_no_gap_check_without_a_calendar_and_other_calendars(clean):
    planted = clean.drop(clean.index[[50, 51]])
    assert profile_frame(planted, calendar=None)["findings"] == []
    assert profile_frame(planted, calendar="none")["findings"] == []
    # On XLON, US holidays such as Independence Day are sessions the NYSE series has no row for.
    gaps = next(f for f in profile_frame(clean, calendar="XLON")["findings"] if f["check"] == "calendar_gaps")
    assert "2023-07-04" in gaps["dates"]
    with pytest.raises(UnknownCalendarError):
        profile_frame(clean, calendar="NOPE")


def test_stale_prices(clean):
    planted = clean.copy()
    value = planted.iloc[120]["Close"]
    planted.iloc[120:126, :4] = value  # six identical bars in a row
    finding = only(profile_frame(planted), "stale_prices", "warning")
    assert finding["dates"] == iso(clean, *range(120, 126))
    assert "longest: 6 rows" in finding["detail"]
    assert profile_frame(planted, stale_days=7)["findings"] == []


def test_return_outliers_one_day_spike(clean):
    planted = clean.copy()
    planted.iloc[180, :4] *= 1.3  # one bad print, back to normal the next day
    finding = only(profile_frame(planted), "return_outliers", "warning")
    assert finding["dates"] == iso(clean, 180, 181)


def test_a_spike_near_a_split_ratio_that_reverts_is_an_outlier_not_a_split(clean):
    planted = clean.copy()
    planted.iloc[180, :4] *= 2.0
    finding = only(profile_frame(planted), "return_outliers", "warning")
    assert finding["dates"] == iso(clean, 180, 181)


@pytest.mark.parametrize(("factor", "label"), [(0.5, "2:1 split"), (1 / 3, "3:1 split"), (10.0, "1:10 reverse split")])
def test_possible_split(clean, factor, label):
    planted = clean.copy()
    planted.iloc[150:, :4] *= factor  # as traded, not adjusted
    finding = only(profile_frame(planted), "possible_split", "warning")
    assert finding["dates"] == iso(clean, 150)
    assert label in finding["detail"]


def test_known_split_is_not_reported(clean):
    planted = clean.copy()
    planted.iloc[150:, :4] *= 0.25
    assert profile_frame(planted, known_splits=[clean.index[150].date()])["findings"] == []
    assert profile_frame(planted, known_splits=[iso(clean, 150)[0]])["findings"] == []


# -- the contract and helpers --------------------------------------------------------------------


def test_every_check_name_is_in_the_contract():
    assert CHECKS == (
        "unparseable_dates",
        "duplicate_dates",
        "unsorted_dates",
        "missing_values",
        "non_positive_prices",
        "ohlc_inconsistent",
        "calendar_gaps",
        "stale_prices",
        "return_outliers",
        "possible_split",
    )


def test_error_findings_list_every_date_and_helpers(clean):
    planted = clean.copy()
    planted.iloc[10:80, planted.columns.get_loc("Close")] = np.nan  # 70 errors: more than the cap
    planted.iloc[200, :4] = -1.0
    report = profile_frame(planted)
    missing = next(f for f in report["findings"] if f["check"] == "missing_values")
    assert len(missing["dates"]) == 70
    refused = rows_with_errors(report)
    assert refused == {d.date() for d in clean.index[10:80]} | {clean.index[200].date()}
    assert count_by_severity(report)["error"] == 2
    with pytest.raises(ProfileError) as err:
        raise_for_errors(report, source="AAPL")
    assert err.value.dates == refused
    assert "AAPL" in str(err.value)
    assert "missing_values (70 rows)" in str(err.value)
    assert "non_positive_prices (1 row): 2023-10-19" in str(err.value)


def test_findings_come_in_contract_order_and_the_document_is_json(clean):
    import json

    planted = clean.drop(clean.index[5])
    planted.iloc[100:, :4] *= 0.5
    planted.iloc[20, planted.columns.get_loc("Close")] = np.nan
    report = profile_frame(planted)
    assert [f["check"] for f in report["findings"]] == ["missing_values", "calendar_gaps", "possible_split"]
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_empty_and_tiny_series():
    empty = pd.DataFrame({"Close": []}, index=pd.DatetimeIndex([], name="Date"))
    assert profile_frame(empty) == {"rows": 0, "start": None, "end": None, "findings": []}
    one = pd.DataFrame({"Close": [10.0]}, index=pd.DatetimeIndex(["2024-01-02"]))
    assert profile_frame(one) == {"rows": 1, "start": "2024-01-02", "end": "2024-01-02", "findings": []}


def test_frame_with_a_date_column_lowercase_names_and_no_ohlc(clean):
    frame = clean[["Close"]].reset_index().rename(columns={"Date": "date", "Close": "close"})
    assert profile_frame(frame) == profile_frame(clean)
    with pytest.raises(ProfileInputError, match="Close"):
        profile_frame(clean[["Open"]])


def test_csv_dates_with_offsets_keep_the_trading_day_as_written():
    text = (
        "Date,Open,High,Low,Close\n"
        "2024-01-02T00:00:00+01:00,10,11,9,10\n"
        "2024-01-03T00:00:00+01:00,10,11,9,10.5\n"
        "2024-01-04 16:00:00-05:00,10,11,9,10.2\n"
    )
    report = profile_csv(text.encode())
    assert (report["start"], report["end"], report["findings"]) == ("2024-01-02", "2024-01-04", [])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("Date,Open,High,Low,Close\n", "no data rows"),
        ("Date,Open,High,Close\n2024-01-02,1,2,1\n", "missing column(s): Low"),
        ("When,Open,High,Low,Close\n2024-01-02,1,2,1,1\n", "no date column"),
    ],
)
def test_csv_that_cannot_be_profiled_raises_naming_the_file(tmp_path, text, fragment):
    path = tmp_path / "prices.csv"
    path.write_text(text)
    with pytest.raises(ProfileInputError) as err:
        profile_csv(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_old_series_before_the_default_calendar_window():
    old = clean_frame("1998-01-02", "1998-12-31")
    assert profile_frame(old)["findings"] == []
    gaps = only(profile_frame(old.drop(old.index[3])), "calendar_gaps", "warning")
    assert gaps["dates"] == iso(old, 3)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"symbol": "AAPL"}, "XNYS"),
        ({"symbol": "AAPL", "exchange": "NMS"}, "XNAS"),
        ({"symbol": "SAP.DE"}, "XETR"),
        ({"symbol": "VOD.L"}, "XLON"),
        ({"symbol": "7203.T"}, "XTKS"),
        ({"symbol": "SHOP.TO"}, "XTSE"),
        ({"symbol": "BRK-B"}, "XNYS"),
        ({"symbol": "^GSPC"}, "XNYS"),
        ({"symbol": "^FTSE"}, "XLON"),
        ({"symbol": "EURUSD=X"}, "24/5"),
        ({"symbol": "EURUSD=X", "asset_class": "fx"}, "24/5"),
        ({"symbol": "CL=F"}, "us_futures"),
        ({"symbol": "BTC-USD", "asset_class": "crypto"}, None),
        ({"symbol": "BTC-USD", "exchange": "CCC"}, None),
        ({"symbol": "SAP", "exchange": "XETR"}, "XETR"),
        ({"symbol": "X", "exchange": "GER"}, "XETR"),
    ],
)
def test_calendar_for(kwargs, expected):
    assert calendar_for(**kwargs) == expected


def test_a_split_on_the_last_day_is_reported():
    frame = clean_frame()
    frame.iloc[-1, :4] *= 0.5
    finding = only(profile_frame(frame), "possible_split", "warning")
    assert finding["dates"] == iso(frame, 249)


def test_rows_with_errors_ignores_warnings():
    report = {
        "rows": 3,
        "start": "2024-01-02",
        "end": "2024-01-04",
        "findings": [
            {"check": "calendar_gaps", "severity": "warning", "dates": ["2024-01-03"], "detail": ""},
            {"check": "ohlc_inconsistent", "severity": "error", "dates": ["2024-01-04"], "detail": ""},
        ],
    }
    assert rows_with_errors(report) == {dt.date(2024, 1, 4)}


def test_csv_numbers_with_thousands_separators_and_text_cells():
    text = (
        "Date,Open,High,Low,Close,Volume\n"
        '2024-01-02,"1,000.5","1,010",990,"1,005",100\n'
        "2024-01-03,1005,1012,1001,1010,\n"
        "2024-01-04,1010,1015,1004,N/A,300\n"
    )
    report = profile_csv(text.encode())
    assert [(f["check"], f["severity"], f["dates"]) for f in report["findings"]] == [
        ("missing_values", "error", ["2024-01-04"])
    ]


def test_bad_utf8_names_the_row_and_column():
    raw = b"Date,Open,High,Low,Close\n2024-01-02,1,2,1,1\n2024-01-03,1,\xff,1,1\n"
    with pytest.raises(ProfileInputError) as err:
        profile_csv(raw)
    assert (err.value.row, err.value.column) == (2, "High")
    assert str(err.value) == "<upload>, row 2, column 'High': not UTF-8 text (byte 57); save the file as UTF-8"
