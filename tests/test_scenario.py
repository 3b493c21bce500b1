"""Scenario TOML parsing and validation: defaults, one-line errors naming the field."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from econ_support import EXAMPLES, mapping, scenario

from analysis.core.errors import InputError
from analysis.core.gpus import COCOON_GPUS, GPUS, gpu_from_alias
from analysis.core.resources import reference_path
from analysis.econ.scenario import load_scenario, parse_scenario, scenario_with, to_mapping


def _csv_value(parameter: str) -> float:
    with open(reference_path("network_parameters.csv"), newline="") as handle:
        for row in csv.DictReader(handle):
            if row["network"] == "cocoon" and row["parameter"] == parameter:
                return float(row["value"])
    raise AssertionError(parameter)


def _one_line_error(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


def test_three_documented_examples_load():
    assert len(EXAMPLES) == 3
    names = set()
    for path in EXAMPLES:
        s = load_scenario(path)
        names.add(s.hardware.gpu)
        assert s.path == path and s.name
        assert s.network.name == "cocoon"
        # Every example is documented with comments.
        assert path.read_text().count("#") >= 10
    # COCOON's stack: PCIe/NVL cards in single-GPU hosts, SXM only in the 8-GPU HGX node (issue 15).
    assert names == {"H100-SXM", "H100-NVL", "H200-NVL"}
    for path in EXAMPLES:
        s = load_scenario(path)
        assert (s.hardware.gpu == "H100-SXM") == (s.hardware.gpus == 8)


def test_issue_example_parses_with_field_names_as_the_toml_keys():
    s = scenario()
    assert s.workload.utilisation == 0.6
    assert s.network.worker_fee_per_token_nanoton == 19
    assert s.network.coefficient_milli == 1000
    assert s.finance.start == dt.date(2024, 12, 1)
    assert s.finance.horizon_days == 365
    assert s.treasury.strategy == "sell_on_payout"


def test_network_defaults_come_from_the_reference_csv():
    m = mapping()
    m["network"] = {}
    s = parse_scenario(m)
    assert s.network.price_per_token_nanoton == _csv_value("price_per_token")
    assert s.network.worker_fee_per_token_nanoton == _csv_value("worker_fee_per_token")
    assert s.network.cached_tokens_price_multiplier == _csv_value("cached_tokens_price_multiplier")
    assert s.network.completion_tokens_price_multiplier == _csv_value("completion_tokens_price_multiplier")
    assert s.network.payout_threshold_ton == _csv_value("min_worker_payout_sum")
    assert s.network.onchain_fee_ton == _csv_value("onchain_operation_cost")
    assert s.network.coefficient_milli == _csv_value("worker_coefficient_default")
    # Treasury defaults of MODEL_INTERFACE.md; staking from the CSV's TON estimate.
    assert s.treasury.every_days == 30
    # neutral funding (issue 14): the record where there is one, 0 elsewhere; the hedge's collateral
    # costs the scenario's own discount rate
    assert (s.treasury.funding, s.treasury.funding_rate_annual) == ("historical", 0.0)
    assert s.treasury.cost_of_capital_annual == s.finance.discount_rate_annual
    assert s.treasury.max_collateral_usd is None
    with open(reference_path("network_parameters.csv"), newline="") as handle:
        staking = [float(r["value"]) for r in csv.DictReader(handle) if r["parameter"] == "staking_gross_yield_estimate"]
    assert s.treasury.staking_apy == staking[0]


def test_negative_utilisation_is_one_line_naming_the_field():
    with pytest.raises(InputError) as exc:
        scenario(workload__utilisation=-0.2)
    assert _one_line_error(exc) == ("test.toml: [workload] utilisation = -0.2 is out of range; "
                                    "use a fraction between 0 and 1")


@pytest.mark.parametrize("changes, needle", [
    ({"workload__utilisation": 1.5}, "[workload] utilisation = 1.5 is out of range"),
    ({"workload__utilisation": "high"}, '[workload] utilisation = "high" is a string, not a number'),
    ({"hardware__gpus": 0}, "[hardware] gpus = 0 is out of range"),
    ({"hardware__gpus": 2.5}, "[hardware] gpus = 2.5 is a number, not a whole number"),
    ({"hardware__gpu": "H1000"}, "[hardware] gpu = 'H1000' is not a known GPU; use one of H100-SXM"),
    ({"hardware__gpu": "RTX 4090"}, "cannot serve COCOON"),
    ({"hardware__already_owned": "yes"}, "[hardware] already_owned = \"yes\" is a string, not a boolean"),
    ({"network__worker_fee_per_token_nanoton": 0}, "[network] worker_fee_per_token_nanoton = 0 is out of range"),
    ({"network__price_per_token_nanoton": 20.5}, "price_per_token_nanoton = 20.5 is a number, not a whole number"),
    ({"network__coefficient": 1.0004}, "has more than 3 decimals"),
    ({"network__onchain_fee_ton": 10}, "is not below payout_threshold_ton"),
    ({"network__name": "akash"}, '[network] name = "akash" is not valid; use one of cocoon, render'),
    ({"pricing__mode": "floating"}, "use one of fixed_token, usd_pegged, repriced"),
    ({"pricing__reprice_every_days": 0}, "[pricing] reprice_every_days = 0 is out of range"),
    ({"operations__pue": 0.9}, "[operations] pue = 0.9 is out of range"),
    ({"operations__power_kw": float("nan")}, "[operations] power_kw = nan is not finite"),
    ({"finance__start": "2024-13-01"}, '[finance] start = "2024-13-01" is not a date; use YYYY-MM-DD'),
    ({"finance__start": dt.datetime(2024, 12, 1, 10, 0)}, "has a time of day"),
    ({"finance__horizon_days": 0}, "[finance] horizon_days = 0 is out of range"),
    ({"treasury__funding_rate_annual": "recent"}, '[treasury] funding_rate_annual = "recent" is not valid'),
    ({"treasury__funding": "mean"}, '[treasury] funding = "mean" is not valid; use one of historical, fixed, bootstrap'),
    ({"treasury__strategy": "yolo"}, '[treasury] strategy = "yolo" is not known'),
    ({"treasury__vol_premium": -0.5}, "[treasury] vol_premium = -0.5 is out of range"),
    ({"treasury__maintenance_margin_fraction": 0.5}, "is above initial_margin_fraction"),
    ({"treasury__max_collateral_usd": 0}, "[treasury] max_collateral_usd = 0.0 is out of range"),
    ({"treasury__hedge_ratio": 2}, "[treasury] hedge_ratio = 2.0 is out of range"),
])
def test_invalid_fields(changes, needle):
    with pytest.raises(InputError) as exc:
        scenario(**changes)
    message = _one_line_error(exc)
    assert message.startswith("test.toml: ")
    assert needle in message


def test_unknown_keys_are_errors_with_a_suggestion():
    with pytest.raises(InputError) as exc:
        scenario(workload__utilisaton=0.5)
    message = _one_line_error(exc)
    assert "[workload] utilisaton is not a known key in [workload]; did you mean utilisation?" in message
    m = mapping()
    m["hardwar"] = {}
    with pytest.raises(InputError, match=r"\[hardwar\] is not a known key at the top level; did you mean hardware"):
        parse_scenario(m)
    m = mapping()
    m["colour"] = "blue"
    with pytest.raises(InputError, match="colour is not a known key at the top level"):
        parse_scenario(m)


def test_missing_required_keys_say_what_to_add():
    m = mapping()
    del m["hardware"]["capex_usd"]
    with pytest.raises(InputError, match=r"\[hardware\] capex_usd is missing; add capex_usd = 30000"):
        parse_scenario(m)
    m = mapping()
    del m["name"]
    with pytest.raises(InputError, match="name is missing"):
        parse_scenario(m)
    m = mapping()
    m["workload"] = 3
    with pytest.raises(InputError, match=r"workload must be a table \(\[workload\]\), not a integer"):
        parse_scenario(m)


def test_malformed_toml_gives_the_parser_line_and_column(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[workload]\nutilisation = \n')
    with pytest.raises(InputError) as exc:
        load_scenario(bad)
    message = _one_line_error(exc)
    assert message.startswith("bad.toml: not valid TOML: ")
    assert "line 3" in message and "column" in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="--scenario: file .* not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="is a folder"):
        load_scenario(tmp_path)


def test_toml_dates_and_strings_both_work(tmp_path):
    path = tmp_path / "s.toml"
    text = EXAMPLES[0].read_text()
    assert "start = 2025-04-01" in text  # a TOML local date
    path.write_text(text.replace("start = 2025-04-01", 'start = "2025-04-02"'))
    assert load_scenario(path).finance.start == dt.date(2025, 4, 2)


def test_scenario_with_revalidates_and_round_trips():
    s = scenario()
    assert parse_scenario(to_mapping(s), origin="test.toml") == s
    s2 = scenario_with(s, {"workload.utilisation": 0.8, "network.worker_fee_per_token_nanoton": 15})
    assert s2.workload.utilisation == 0.8 and s2.network.worker_fee_per_token_nanoton == 15
    assert s.workload.utilisation == 0.6  # frozen original unchanged
    with pytest.raises(InputError, match="utilisation = -1.0 is out of range"):
        scenario_with(s, {"workload.utilisation": -1.0})


def test_gpu_names_are_canonicalised():
    assert gpu_from_alias("h100 sxm5") == "H100-SXM"
    assert gpu_from_alias("H200_SXM") == "H200"
    assert gpu_from_alias("A100-SXM4-80GB") == "A100-80GB"
    assert gpu_from_alias("rtx 4090") == "RTX-4090"
    assert gpu_from_alias("TPU-v5") is None
    assert all(gpu_from_alias(g) == g for g in GPUS)
    assert set(COCOON_GPUS) <= set(GPUS)
    assert scenario(hardware__gpu="h200").hardware.gpu == "H200"
