"""The `tax_report` management command (docs/contracts.md §9 and §12). No database is used: these tests carry
no `db` mark, so any query would fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personal_finance.contrib.textinput import TextInputError
from personal_finance.tax.engine import TaxInputError, read_transactions, read_transactions_file

ROOT = Path(__file__).resolve().parents[3]

HEADER = "id,date,action,symbol,quantity,price,fees,lots,ratio\n"
GOOD = (
    HEADER
    + "b1,2024-01-02,buy,xyz,100,10,0,,\n"
    + "b2,2024-01-20,buy,XYZ,50,12,1.50,,\n"
    + "x1,2024-02-01,split,XYZ,,,,,2:1\n"
    + "s1,2024-03-01,sell,XYZ,100,4.50,2,b2:100,\n"
    + "b3,2024-03-20,buy,XYZ,40,4,0,,\n"
    + "s2,2025-01-10,sell,XYZ,100,6,0,,\n"
)


def write(tmp_path, text, name="tx.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("tax_report", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_document_has_exactly_the_contract_keys(tmp_path):
    path = write(tmp_path, GOOD)
    out, _ = run("--transactions", path, "--json")
    doc = json.loads(out)  # exactly one JSON document
    assert set(doc) == {"realized", "lots", "form_8949", "schedule_d"}
    assert set(doc["realized"][0]) == {
        "sell",
        "lot",
        "quantity",
        "proceeds",
        "basis",
        "gain_loss",
        "disallowed_loss",
        "reportable_gain_loss",
        "term",
        "date_acquired",
        "date_sold",
    }
    assert set(doc["lots"][0]) == {"lot", "symbol", "quantity", "basis", "adjusted_basis", "date_acquired"}
    assert set(doc["form_8949"]) == {"part_i", "part_ii"}
    assert set(doc["form_8949"]["part_i"][0]) == {
        "description",
        "date_acquired",
        "date_sold",
        "proceeds",
        "basis",
        "code",
        "adjustment",
        "gain_loss",
    }
    # s1 (fifo) sells 100 of b1's 200 post-split shares: basis 500, proceeds 448 -> loss 52,
    # 40 replacement shares (b3) within 30 days -> 40/100 of the loss disallowed (20.80)
    s1 = [r for r in doc["realized"] if r["sell"] == "s1"]
    assert [(r["lot"], r["quantity"], r["proceeds"], r["basis"], r["disallowed_loss"]) for r in s1] == [
        ("b1", "100", "448.00", "500.00", "20.80")
    ]
    assert all(isinstance(v, str) for r in doc["realized"] for v in r.values())


def test_specific_method_uses_the_lots_column(tmp_path):
    path = write(tmp_path, GOOD)
    out, _ = run("--transactions", path, "--json", "--method", "specific")
    doc = json.loads(out)
    s1 = [r for r in doc["realized"] if r["sell"] == "s1"]
    # b2 after the split: 100 shares costing 601.50; proceeds 448 -> loss 153.50, 40% washed by b3
    assert [(r["lot"], r["basis"], r["gain_loss"], r["disallowed_loss"]) for r in s1] == [
        ("b2", "601.50", "-153.50", "61.40")
    ]


def test_year_filter(tmp_path):
    path = write(tmp_path, GOOD)
    doc = json.loads(run("--transactions", path, "--json", "--year", "2025")[0])
    assert {r["sell"] for r in doc["realized"]} == {"s2"}
    assert {r["date_sold"][:4] for r in doc["form_8949"]["part_i"] + doc["form_8949"]["part_ii"]} == {"2025"}


def test_default_output_is_one_line(tmp_path):
    path = write(tmp_path, GOOD)
    out, _ = run("--transactions", path)
    assert out.count("\n") == 1
    assert out.startswith(f"{path}: 6 transactions, 2 sales (fifo, all years): short-term ")
    assert "wash-sale disallowed 20.80" in out


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        ("id,date,action,symbol,quantity,price\nb1,2024-01-02,buy,XYZ,1,1\n", "row 0", "column fees"),
        (HEADER + "b1,2024/01/02,buy,XYZ,1,1,0,,\n", "row 1", "column date"),
        (HEADER + "b1,2024-02-30,buy,XYZ,1,1,0,,\n", "row 1", "column date"),
        (HEADER + "b1,2024-01-02,buy,XYZ,1,1,0,,\nb2,2024-01-02,buy,XYZ,1,1x,0,,\n", "row 2", "column price"),
        (HEADER + "b1,2024-01-02,buy,XYZ,1,1,abc,,\n", "row 1", "column fees"),
        (HEADER + "b1,2024-01-02,transfer,XYZ,1,1,0,,\n", "row 1", "column action"),
        (HEADER + "b1,2024-01-02,buy,XYZ,-5,1,0,,\n", "row 1", "column quantity"),
        (HEADER + "b1,2024-01-02,buy,XYZ,5,1,0,,\ns1,2024-01-03,sell,XYZ,6,1,0,,\n", "row 2", "column quantity"),
        (HEADER + "b1,2024-01-02,buy,XYZ,5,1,0,,\nx,2024-01-03,split,XYZ,,,,,2-1\n", "row 2", "column ratio"),
        (HEADER + "b1,2024-01-02,buy,XYZ,5,1,0,,\nx,2024-01-03,split,XYZ,,,,,0:1\n", "row 2", "column ratio"),
        (HEADER + "b1,2024-01-02,buy,XYZ,5,1,0,,\ns,2024-01-03,sell,XYZ,5,1,0,b1:x,\n", "row 2", "column lots"),
        ("", "row 0", None),
        (HEADER, "row 1", None),
    ],
)
def test_bad_input_exits_2_naming_file_row_and_column(tmp_path, text, row, column):
    path = write(tmp_path, text)
    with pytest.raises(CommandError) as exc:
        run("--transactions", path)
    assert exc.value.returncode == 2
    message = str(exc.value)
    assert message.startswith(path + ": ")
    assert row in message
    if column:
        assert column in message


def test_unknown_lot_for_specific(tmp_path):
    path = write(tmp_path, HEADER + "b1,2024-01-02,buy,XYZ,5,1,0,,\ns,2024-01-03,sell,XYZ,5,1,0,b9:5,\n")
    with pytest.raises(CommandError) as exc:
        run("--transactions", path, "--method", "specific")
    assert exc.value.returncode == 2
    assert "row 2, column lots: unknown lot id: 'b9'" in str(exc.value)


def test_wrong_encoding(tmp_path):
    data = (
        (HEADER + "b1,2024-01-02,buy,XYZ,5,1,0,,\nb2,2024-01-03,buy,").encode()
        + "Ünï".encode("latin-1")
        + b",5,1,0,,\n"
    )
    path = write(tmp_path, data)
    with pytest.raises(CommandError) as exc:
        run("--transactions", path)
    assert exc.value.returncode == 2
    assert "row 2, column symbol: not valid UTF-8" in str(exc.value)


def test_empty_and_bom_inputs_through_the_engine(tmp_path):
    with pytest.raises(TaxInputError) as exc:
        read_transactions_file(write(tmp_path, " \n"))
    assert isinstance(exc.value, TextInputError)
    assert str(exc.value) == "row 0: empty file: expected a header id,date,action,symbol,quantity,price,fees"
    bad = b"\xef\xbb\xbf" + (HEADER + "b1,2024-01-02,buy,").encode() + b"\xff,5,1,0,,\n"
    with pytest.raises(TaxInputError) as exc:
        read_transactions(bad)
    offset = bad.index(b"\xff")
    assert str(exc.value) == f"row 1, column symbol: not valid UTF-8 text (byte {offset}: b'\\xff')"
    assert len(read_transactions(("\ufeff" + GOOD).encode())) == 6


def test_missing_file(tmp_path):
    with pytest.raises(CommandError) as exc:
        run("--transactions", str(tmp_path / "nope.csv"))
    assert exc.value.returncode == 2
    assert "nope.csv" in str(exc.value)


def test_real_process_exit_status_and_stderr(tmp_path):
    bad = write(tmp_path, HEADER + "b1,2024-01-02,buy,XYZ,5,1,0,,\ns1,2024-01-03,sell,XYZ,6,1,0,,\n")
    good = write(tmp_path, GOOD, name="good.csv")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    cmd = [sys.executable, str(ROOT / "manage.py"), "tax_report", "--transactions"]
    proc = subprocess.run([*cmd, bad], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"{bad}: row 2, column quantity:" in proc.stderr
    proc = subprocess.run(
        [*cmd, good, "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False
    )
    assert proc.returncode == 0
    assert set(json.loads(proc.stdout)) == {"realized", "lots", "form_8949", "schedule_d"}


def test_optional_time_and_account_columns_bom_and_blank_lines(tmp_path):
    text = (
        "\ufeffID,Date,Action,Symbol,Quantity,Price,Fees,Time,Account\n"
        "s1,2024-03-01,sell,XYZ,10,8,0,15:00,taxable\n"
        "\n"
        "b1,2024-03-01,buy,XYZ,10,10,0,09:30,taxable\n"
        "b2,2024-03-10,buy,XYZ,10,8,0,,ira\n"
    )
    doc = json.loads(run("--transactions", write(tmp_path, text), "--json")[0])
    (row,) = doc["realized"]
    # the 09:30 buy comes before the 15:00 sale; the IRA purchase 9 days later washes the loss
    assert (row["lot"], row["gain_loss"], row["disallowed_loss"]) == ("b1", "-20.00", "20.00")
    assert [(lot["lot"], lot["adjusted_basis"]) for lot in doc["lots"]] == [("b2", "100.00")]


def test_bad_time_names_row_4(tmp_path):
    text = (
        "id,date,action,symbol,quantity,price,fees,time\n"
        + "b,2024-01-02,buy,X,1,1,0,\n" * 3
        + "c,2024-01-02,buy,X,1,1,0,9h\n"
    )
    text = text.replace("b,", "b1,", 1).replace("b,", "b2,", 1).replace("b,", "b3,", 1)
    with pytest.raises(CommandError) as exc:
        run("--transactions", write(tmp_path, text))
    assert "row 4, column time" in str(exc.value)
