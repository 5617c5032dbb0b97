import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personal_finance.data_profiler.checks import profile_csv

from .conftest import to_csv

ROOT = Path(__file__).resolve().parents[3]


def run(*args) -> str:
    out = StringIO()
    call_command("profile_prices", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def planted_file(tmp_path, clean):
    planted = clean.copy()
    planted.iloc[100:, :4] *= 0.5
    planted.iloc[20, planted.columns.get_loc("Close")] = np.nan
    path = tmp_path / "prices.csv"
    path.write_bytes(to_csv(planted))
    return path


def test_json_is_exactly_the_profile_document(planted_file):
    document = json.loads(run(str(planted_file), "--json"))
    assert document == profile_csv(planted_file)
    assert set(document) == {"rows", "start", "end", "findings"}
    assert [f["check"] for f in document["findings"]] == ["missing_values", "possible_split"]


def test_summary_line(planted_file, tmp_path, clean):
    line = run(str(planted_file)).strip()
    assert line == (
        f"{planted_file}: 250 rows, 2023-01-03 to 2023-12-29, 1 error, 1 warning: "
        "missing_values (error), possible_split (warning)"
    )
    clean_path = tmp_path / "clean.csv"
    clean_path.write_bytes(to_csv(clean))
    assert run(str(clean_path)).strip() == f"{clean_path}: 250 rows, 2023-01-03 to 2023-12-29, 0 errors, 0 warnings"


def test_calendar_option(tmp_path, clean):
    path = tmp_path / "gappy.csv"
    path.write_bytes(to_csv(clean.drop(clean.index[[10, 11]])))
    assert "calendar_gaps" in run(str(path))
    assert json.loads(run(str(path), "--json", "--calendar", "none"))["findings"] == []
    assert "calendar_gaps" in run(str(path), "--calendar", "xnys")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read file"),
        ("", "the file is empty"),
        ("Date,Open,High,Low,Close\n", "no data rows"),
        ("Date,Open,High,Close\n2024-01-02,1,2,1\n", "column 'Low': missing column(s): Low"),
        (b"Date,Open,High,Low,Close\n2024-01-02,\xff,2,1,1\n", "not UTF-8"),
    ],
)
def test_bad_input_exits_2_naming_the_file(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(CommandError) as err:
        run(str(path), "--json")
    assert err.value.returncode == 2
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


def test_unknown_calendar_exits_2(planted_file):
    with pytest.raises(CommandError) as err:
        run(str(planted_file), "--calendar", "MARS")
    assert err.value.returncode == 2
    assert "MARS" in str(err.value)


def test_process_exit_status_and_streams(planted_file, tmp_path):
    env_cmd = [sys.executable, "manage.py", "profile_prices"]
    ok = subprocess.run([*env_cmd, str(planted_file), "--json"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr  # findings are the output, not a failure of the command
    assert json.loads(ok.stdout)["rows"] == 250
    missing = tmp_path / "missing.csv"
    bad = subprocess.run([*env_cmd, str(missing)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert str(missing) in bad.stderr
    assert bad.stdout == ""
