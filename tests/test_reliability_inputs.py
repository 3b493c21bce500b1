"""Issue 13: bad input is one line and exit 2, never a traceback; outputs are regular files only;
absurd numbers are refused; a stale or bad close is said."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from econ_support import EXAMPLES, scenario

from analysis.cli.main import main
from analysis.core.errors import DataError, InputError
from analysis.core.finite import check_finite
from analysis.core.outputs import check_outputs
from analysis.econ import bounds
from analysis.econ.scenario import MAX_SCENARIO_BYTES, load_scenario
from analysis.market import prices, store
from analysis.sim.budget import check_run_budget, estimate_run

EXAMPLE = str(EXAMPLES[0])


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    # Notes (throughput, resale, stale price) may precede it on stderr; the error is one line.
    lines = [line for line in err.splitlines() if line.startswith("cocoon-econ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("out, message", [
    ("{tmp}/", "is a folder"),      # argparse's Path drops the slash; check_output also refuses "x/"
    ("{tmp}", "is a folder"),
    ("/dev/full", "is a device"),
    ("/dev/null", "is a device"),
    ("{tmp}/afile/x.csv", "is a file, not a folder"),
])
def test_ledger_out_refuses_what_is_not_a_regular_file(capsys, tmp_path, out, message):
    (tmp_path / "afile").write_text("x")
    before = os.stat("/dev/full")
    code, _, err = _run(capsys, "ledger", "--scenario", EXAMPLE, "--out", out.format(tmp=tmp_path))
    assert code == 2 and message in _one_error_line(err)
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino    # the device node is untouched


def test_ledger_out_follows_a_symlink_and_keeps_it(capsys, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    code, _, err = _run(capsys, "ledger", "--scenario", EXAMPLE, "--out", str(link))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("date,")


def test_the_same_file_twice_is_refused_and_nothing_is_written(capsys, tmp_path):
    out = tmp_path / "x.csv"
    code, _, err = _run(capsys, "ledger", "--scenario", EXAMPLE, "--out", str(out), "--tax", str(out))
    assert code == 2 and "--out and --tax name the same file" in _one_error_line(err)
    assert not out.exists()
    link = tmp_path / "alias.csv"
    link.symlink_to(out)                         # two names of one file count as the same file
    with pytest.raises(InputError, match="same file"):
        check_outputs({"--out": out, "--tax": link})


def test_a_bad_tax_path_writes_no_ledger(capsys, tmp_path):
    out = tmp_path / "ledger.csv"
    code, _, err = _run(capsys, "ledger", "--scenario", EXAMPLE, "--out", str(out), "--tax", str(tmp_path) + "/")
    assert code == 2 and "--tax" in _one_error_line(err)
    assert not out.exists()


# --------------------------------------------------------------------------- scenario files


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + Path(EXAMPLE).read_bytes())
    assert load_scenario(path) == load_scenario(EXAMPLE).__class__(**{**load_scenario(EXAMPLE).__dict__,
                                                                      "path": path, "origin": "bom.toml"})


def test_devices_and_huge_files_are_refused(capsys, tmp_path):
    code, _, err = _run(capsys, "breakeven", "--scenario", "/dev/zero")
    assert code == 2 and "not a regular file" in _one_error_line(err)
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_SCENARIO_BYTES + b"\n")
    with pytest.raises(InputError, match="larger than 1024 KB"):
        load_scenario(big)


@pytest.mark.parametrize("table, key, value, message", [
    ("hardware", "capex_usd", 1e308, r"\[hardware\] capex_usd = 1e\+308 is out of range; use 0 to 1e\+10 USD"),
    ("hardware", "life_years", 1e-300, r"\[hardware\] life_years = 1e-300 is out of range; use 0.1 to 50 years"),
    ("workload", "output_tokens_per_s", 1e-300, r"output_tokens_per_s = 1e-300 is out of range; use at least 0.01"),
    ("finance", "discount_rate_annual", -0.9999999, r"discount_rate_annual = -1 is out of range; use -0.5 to 2"),
    ("finance", "start", dt.date(9999, 12, 31), r"\[finance\] start = 9999-12-31 is out of range; use a day from "
                                                 "2009-01-01 to 2100-12-31"),
    ("finance", "start", dt.date(2100, 6, 1), r"start 2100-06-01 \+ horizon_days 365 ends after 2100-12-31"),
    ("network", "worker_fee_per_token_nanoton", 21, r"worker_fee_per_token_nanoton = 21 is above "
                                                    "price_per_token_nanoton = 20"),
    ("hardware", "capex_usd", 5e6, r"capex_usd = 5e\+06 is 5,000,000 USD per GPU"),
])
def test_absurd_fields_are_refused_with_range_and_reason(table, key, value, message):
    with pytest.raises(InputError, match=message) as info:
        scenario(**{f"{table}__{key}": value})
    assert "\n" not in str(info.value) and str(info.value).startswith("test.toml: ")


def test_every_bound_is_sane_and_the_examples_are_inside():
    for (table, key), bound in bounds.SCENARIO_BOUNDS.items():
        assert bound.lo < bound.hi and bound.unit and bound.why, (table, key)
    for path in EXAMPLES:
        load_scenario(path)       # raises if an example breaks a bound


def test_cli_arguments_out_of_range_are_one_line(capsys):
    for argv, message in [
        (["simulate", "--scenario", EXAMPLE, "--window-days", "3"], "--window-days = 3 is out of range"),
        (["simulate", "--scenario", EXAMPLE, "--method", "gbm", "--vol-annual", "40"], "--vol-annual = 40"),
        (["simulate", "--scenario", EXAMPLE, "--drift-annual", "1000", "--json"], "--drift-annual = 1000"),
        (["simulate", "--scenario", EXAMPLE, "--start-price", "1e308"], "--start-price = 1e+308"),
        (["breakeven", "--scenario", EXAMPLE, "--ton-usd", "1e308"], "is out of range"),
        (["simulate", "--scenario", EXAMPLE, "--paths", "1000000000000"], "use --paths"),
        (["simulate", "--scenario", EXAMPLE, "--horizon-days", "100000000"], "too large for one run"),
    ]:
        code, out, err = _run(capsys, *argv)
        assert code == 2 and message in _one_error_line(err), (argv, err)
        assert "Traceback" not in out                                # notes at most (throughput, resale)


# --------------------------------------------------------------------------- budget and finiteness


def test_the_budget_refuses_with_the_limit_and_how_to_split():
    need, seconds = estimate_run(2000, 365)
    assert need < 2**30 and seconds < 5                      # the default run is small
    with pytest.raises(InputError) as info:
        check_run_budget(10**12, 365, max_seconds=600, max_bytes=4 * 2**30)
    text = str(info.value)
    assert "the limits are 4.0 GB and 10 min" in text and "with different --seed values" in text
    fit = int(text.split("use --paths ")[1].split()[0].replace(",", ""))
    assert estimate_run(fit, 365)[1] <= 600 < estimate_run(fit + 1, 365)[1]   # the largest run that fits
    with pytest.raises(InputError, match=r"--horizon-days 100,000,000,000 is too long .* use --horizon-days"):
        check_run_budget(1, 10**11, max_bytes=4 * 2**30)


def test_a_non_finite_result_is_an_error():
    assert check_finite({"a": 1.0, "b": [2, None]}, "x") == {"a": 1.0, "b": [2, None]}
    with pytest.raises(InputError, match=r"breakeven: b\[1\] came out nan"):
        check_finite({"a": 1.0, "b": [2.0, float("nan")]}, "breakeven")
    with pytest.raises(InputError, match="c.d came out inf"):
        check_finite({"c": {"d": np.float64("inf")}}, "x")


# --------------------------------------------------------------------------- stale and bad closes


def test_a_stale_latest_close_is_warned_with_the_fix(capsys):
    closes = prices.daily_closes("ton")
    last = closes.index[-1].date()
    assert prices.stale_close_note(closes, today=last + dt.timedelta(days=7)) is None
    note = prices.stale_close_note(closes, today=last + dt.timedelta(days=258))
    assert f"close is of {last}, 258 days old" in note and "cocoon-econ fetch prices" in note
    if (dt.datetime.now(dt.UTC).date() - last).days > 7:     # the embedded close is old today
        code, _, err = _run(capsys, "breakeven", "--scenario", EXAMPLE)
        assert code == 0 and "warning: the latest TON/USD close" in err and "cocoon-econ fetch prices" in err
        code, _, err = _run(capsys, "breakeven", "--scenario", EXAMPLE, "--ton-usd", "2")
        assert "warning" not in err                            # no latest close used


def _bad_cache(cache: Path, value: float) -> Path:
    frame = pd.DataFrame({"open": 2.0, "high": 2.0, "low": 2.0, "close": [2.0, value, 2.0], "volume": 1.0,
                          "source": "binance TONUSDT spot"},
                         index=pd.DatetimeIndex(pd.date_range("2025-01-01", periods=3), name="date"))
    path = store.price_cache_path("ton", "binance", cache)
    store.write_prices_csv(frame, path)
    return path


@pytest.mark.parametrize("value", [0.0, -1.5, float("inf")])
def test_a_bad_cached_close_names_the_file_and_the_fix(isolated_cache, capsys, value):
    path = _bad_cache(isolated_cache, value)
    with pytest.raises(DataError, match="the close of 2025-01-02 is .* not a positive finite price") as info:
        prices.daily_closes("ton")
    assert str(path) in str(info.value) and "delete the file and run 'cocoon-econ fetch prices" in str(info.value)
    code, _, err = _run(capsys, "breakeven", "--scenario", EXAMPLE)
    assert code == 2 and str(path) in _one_error_line(err)
    code, out, _ = _run(capsys, "data", "status")
    assert code == 0 and "PROBLEM:" in out and "2025-01-02" in out


def test_check_output_names_each_refusal(tmp_path):
    from analysis.core.outputs import check_output

    with pytest.raises(InputError, match="--out: empty file name"):
        check_output("--out", "")
    with pytest.raises(InputError, match="names a folder; give a file such as"):
        check_output("--out", f"{tmp_path}/sub/")
    assert check_output("--out", tmp_path / "new" / "x.csv") == (tmp_path / "new" / "x.csv").resolve()


def test_the_report_summary_says_when_the_close_is_stale():
    from datetime import UTC, datetime, time, timedelta

    from analysis.report import ReportContext, summary

    last = prices.daily_closes("ton").index[-1].date()
    old = summary.build(ReportContext(scenario_files=[Path(EXAMPLE)],
                                      generated_at=datetime.combine(last + timedelta(days=258), time(), UTC)))
    assert "Stale price:" in old.intro_html and "258 days old" in old.intro_html
    assert "cocoon-econ fetch prices" in old.intro_html
    fresh = summary.build(ReportContext(scenario_files=[Path(EXAMPLE)],
                                        generated_at=datetime.combine(last + timedelta(days=3), time(), UTC)))
    assert "Stale price" not in fresh.intro_html
