"""``--utilisation U|observed``: the option every command that runs a scenario takes."""

from __future__ import annotations

import argparse

from analysis.core.errors import InputError

OBSERVED = "observed"


def utilisation_value(text: str) -> float | str:
    """argparse type: a fraction in [0, 1] or ``observed``."""
    if text.strip().lower() == OBSERVED:
        return OBSERVED
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction; use a number between 0 and 1 or "
                                         "'observed'") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is out of range; use a fraction between 0 and 1 or 'observed'")
    return value


def add_utilisation_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--utilisation", type=utilisation_value, default=None, metavar="U|observed",
                        help="replace the scenario's [workload] utilisation: a fraction, or 'observed' = the "
                             "COCOON network's paid demand (newest 'chain network' reading, else the vendored "
                             "reference figure)")


def load_cli_scenario(args: argparse.Namespace):
    """Load ``args.scenario`` in ``--currency`` (where the command has it) and apply ``--utilisation``
    (re-validated like the TOML value)."""
    from dataclasses import replace

    from analysis.econ.currency import scenario_in_currency
    from analysis.econ.scenario import load_scenario, scenario_with

    scenario = scenario_in_currency(load_scenario(args.scenario), getattr(args, "currency", None))
    value = getattr(args, "utilisation", None)
    if value is None:
        return scenario
    if value == OBSERVED and scenario.network.name != "cocoon":
        raise InputError("--utilisation observed: only COCOON's demand is read from the chain; give a Render "
                         "scenario a fraction between 0 and 1")
    changed = scenario_with(scenario, {"workload.utilisation": value})
    kept = tuple(n for n in scenario.notes if n not in changed.notes)   # e.g. the --currency conversion note
    changed = replace(changed, notes=(*kept, *changed.notes))
    if value != OBSERVED:
        changed = replace(changed, notes=(*changed.notes, f"utilisation {value:.2%} from --utilisation "
                                                          f"(the scenario assumes {scenario.workload.utilisation:.2%})"))
    return changed


def utilisation_fields(scenario) -> dict:
    """JSON fields saying where the utilisation came from."""
    observed = scenario.observed_utilisation
    return {"utilisation_origin": scenario.utilisation_origin,
            "observed_utilisation": observed.as_dict() if observed is not None else None}


def utilisation_text(value: float) -> str:
    """A utilisation as a percentage, with decimals when it is small (observed demand is)."""
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.2%}"


def print_scenario_notes(scenario, json_output: bool = False) -> None:
    """Every note of the scenario (network defaults from a saved on-chain reading, a currency
    conversion, the observed utilisation...) as ``note: ...`` lines: on stderr when the command
    prints JSON, so stdout stays one JSON object."""
    import sys

    for note in scenario.notes:
        print(f"note: {note}", file=sys.stderr if json_output else sys.stdout)
