"""On-chain truth for COCOON: the live parameters of the root contract and a worker's payouts.

- :func:`read_root_params` reads the root contract's raw state (toncenter or tonapi), parses the
  params cell as the contract lays it out (:mod:`analysis.chain.contracts`) and cross-checks it
  with the ``get_cur_params`` get-method.
- :func:`save_chain_params` / :func:`latest_chain_params` keep dated readings in
  ``<cache>/chain/params.csv`` (the schema of ``data/reference/network_parameters.csv``), which the
  scenario defaults prefer when present.
- :func:`fetch_payouts` lists a worker owner's payouts from toncenter v3 and values each at its
  day's TON/USD close; :func:`read_cached_payouts` gives the last fetch back offline.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import requests
from pytoniq_core import Address

from analysis.chain.contracts import (
    MAINNET_ROOT,
    OP_PAYOUT,
    PARAMETER_UNITS,
    ProxyData,
    RootParams,
    cross_check,
    parse_cur_params_stack,
    parse_proxy_data_stack,
    parse_root_data,
)
from analysis.chain.payouts import REASONS, classify_payouts, value_payouts
from analysis.core.env import env_value
from analysis.core.errors import DataError, InputError
from analysis.core.progress import progress_bar
from analysis.econ import tax
from analysis.market.chain_params import (  # noqa: F401  (re-exported: the chain's cache API)
    PARAMS_COLUMNS,
    PARAMS_FILE,
    SCENARIO_PARAMETERS,
    latest_chain_params,
    read_params_csv,
)
from analysis.market.prices import daily_closes
from analysis.market.store import atomic_write_csv, atomic_write_text, cache_lock
from analysis.market.store import cache_dir as resolve_cache_dir
from analysis.sources import tonapi, toncenter
from analysis.sources.http import HttpClient
from analysis.sources.toncenter import GetMethodError, parse_address

APIS = ("toncenter", "tonapi")
OWNER_ENV = "COCOON_ECON_OWNER_ADDRESS"  # alias COCOON_OWNER_ADDRESS (analysis.core.env)


# ----------------------------------------------------------------------------- parameters

def _make_client(api: str, base_url: str | None, session: requests.Session | None) -> HttpClient:
    if api == "toncenter":
        return toncenter.toncenter_client(base_url or toncenter.DEFAULT_BASE_URL, session)
    if api == "tonapi":
        return tonapi.tonapi_client(base_url or tonapi.DEFAULT_BASE_URL, session)
    raise InputError(f"--api: unknown {api!r}; use one of {', '.join(APIS)}")


def read_root_params(*, api: str = "toncenter", root: str = MAINNET_ROOT, base_url: str | None = None,
                     session: requests.Session | None = None, client: HttpClient | None = None,
                     check: bool = True) -> tuple[RootParams, dict[str, Any]]:
    """Read COCOON's live parameters from the root contract.

    Parameters
    ----------
    api : {"toncenter", "tonapi"}
        Where to read the account state (toncenter ``api/v3/addressInformation`` or tonapi
        ``v2/blockchain/accounts/{id}``).
    root : str
        The root contract (default: the mainnet root).
    check : bool
        Also run ``get_cur_params`` and compare (it lacks the prompt and completion multipliers).

    Returns
    -------
    params : RootParams
    metadata : dict
        ``source``, ``url``, ``root``, ``read_at`` (UTC), ``balance_nanoton``,
        ``last_transaction_lt``, ``cross_check`` (``{"agrees": bool | None, "differences": [...],
        "error": str | None}``).
    """
    root_addr = parse_address(root, "--root")
    http = client or _make_client(api, base_url, session)
    if api == "toncenter":
        state, meta = toncenter.get_toncenter_account_state(root_addr, client=http)
    else:
        state, meta = tonapi.get_tonapi_account_state(root_addr, client=http)
    if state["status"] not in ("active", None) or state["data"] is None:
        raise InputError(f"--root {root}: the account is {state['status'] or 'empty'}, not a deployed COCOON "
                         "root contract; use the mainnet root " + MAINNET_ROOT)
    params = parse_root_data(state["data"])
    meta = {**meta, "root": root_addr.to_str(), "balance_nanoton": state["balance_nanoton"],
            "last_transaction_lt": state["last_transaction_lt"],
            "cross_check": {"agrees": None, "differences": [], "error": None}}
    if check:
        try:
            if api == "toncenter":
                stack, _ = toncenter.run_toncenter_get_method(root_addr, "get_cur_params", client=http)
            else:
                stack, _ = tonapi.run_tonapi_get_method(root_addr, "get_cur_params", client=http)
            differences = cross_check(params, parse_cur_params_stack(stack))
            meta["cross_check"] = {"agrees": not differences, "differences": differences, "error": None}
        except (GetMethodError, DataError) as exc:
            meta["cross_check"]["error"] = str(exc)
    return params, meta


def params_frame(params: RootParams, metadata: dict[str, Any]) -> pd.DataFrame:
    """The reading as rows of ``network_parameters.csv``'s schema (one row per parameter)."""
    observed = _iso(metadata["read_at"])
    source = f"{metadata['source']} account state of COCOON root {metadata['root']}"
    rows = []
    values = params.as_dict()
    for name, (unit, note) in PARAMETER_UNITS.items():
        extra = []
        if note:
            extra.append(note)
        if name in params.defaulted:
            extra.append(f"absent in params struct version {params.struct_version}; runner default")
        value = values[name]
        rows.append({"network": "cocoon", "parameter": name,
                     "value": str(int(value)) if not isinstance(value, bool) else str(value).lower(),
                     "unit": unit, "observed": observed, "source": source, "notes": "; ".join(extra)})
    return pd.DataFrame(rows, columns=list(PARAMS_COLUMNS))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def save_chain_params(params: RootParams, metadata: dict[str, Any], cache_dir: str | os.PathLike[str] | None = None,
                      ) -> Path:
    """Append this reading to ``<cache>/chain/params.csv`` (atomic rewrite; same-time rows replaced)."""
    path = resolve_cache_dir(cache_dir) / PARAMS_FILE
    new = params_frame(params, metadata)
    with cache_lock(path):  # re-read and merge under the lock: a concurrent save keeps its reading
        if path.exists():
            old = read_params_csv(path)
            old = old[~old["observed"].isin(new["observed"])]
            new = pd.concat([old, new], ignore_index=True)
        return atomic_write_csv(new.sort_values(["observed", "parameter"], kind="stable"), path)


# ----------------------------------------------------------------------------- payouts

def parse_day(value: str | date | None, field: str) -> date | None:
    """A UTC day from ``YYYY-MM-DD`` (InputError naming ``field`` otherwise)."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{field}: {value!r} is not a date; use YYYY-MM-DD") from None


def resolve_owner(owner: str | None) -> Address:
    """The owner wallet from ``owner`` or ``$COCOON_OWNER_ADDRESS``."""
    text = owner if owner else env_value(OWNER_ENV)
    if not text:
        raise InputError(f"--owner: no owner address; pass --owner ADDRESS or set {OWNER_ENV}")
    return parse_address(text, "--owner" if owner else OWNER_ENV)


def payouts_cache_path(owner: Address, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<cache>/chain/payouts_<workchain>_<hash>.csv`` for this owner."""
    return resolve_cache_dir(cache_dir) / "chain" / f"payouts_{owner.wc}_{owner.hash_part.hex()}.csv"


def fetch_payouts(owner: str | Address | None, *, start: str | date | None = None, end: str | date | None = None,
                  root: str = MAINNET_ROOT, check_origin: bool = True, base_url: str | None = None,
                  session: requests.Session | None = None, client: HttpClient | None = None,
                  closes: pd.DataFrame | None = None, page_size: int = 500, progress: bool | None = None,
                  cache_dir: str | os.PathLike[str] | None = None, save: bool = True,
                  ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A worker owner's COCOON payouts between ``start`` and ``end`` (UTC days, inclusive).

    Fetches the owner's transactions from toncenter v3, classifies them
    (:func:`analysis.chain.payouts.classify_payouts`, calling ``get_cocoon_proxy_data`` once per
    sender and, with ``check_origin``, the proxy transaction behind each payout) and values each
    payout at its day's TON/USD close (``closes``: default :func:`analysis.market.prices.daily_closes`).

    Returns
    -------
    payouts : DataFrame
        Columns of :func:`classify_payouts` plus ``close_usd`` and ``usd``.
    metadata : dict
        ``owner``, ``root``, ``start``, ``end``, ``source``, ``pages``, ``transactions``,
        ``skipped`` (count per reason), ``proxies``, ``days_without_close``, ``cache``.
    """
    owner_addr = owner if isinstance(owner, Address) else resolve_owner(owner)
    root_addr = parse_address(root, "--root")
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first and last and first > last:
        raise InputError(f"--start {first} is after --end {last}; swap them")
    http = client or toncenter.toncenter_client(base_url or toncenter.DEFAULT_BASE_URL, session)
    since = datetime.combine(first, time.min, UTC) if first else None
    until = datetime.combine(last, time.max, UTC).replace(microsecond=0) if last else None
    txs, tx_meta = toncenter.get_toncenter_transactions(owner_addr, start=since, end=until, page_size=page_size,
                                                        client=http, progress=progress)

    def proxy_data(address: Address) -> ProxyData | None:
        try:
            stack, _ = toncenter.run_toncenter_get_method(address, "get_cocoon_proxy_data", client=http)
            return parse_proxy_data_stack(stack)
        except (GetMethodError, DataError):
            return None

    candidates = int((txs["in_opcode"] == OP_PAYOUT).sum())
    with progress_bar("payout origins", total=candidates, unit="payout",
                      enabled=progress if check_origin else False) as bar:
        def parent(tx_hash: str) -> pd.Series | None:
            bar.update(1)
            return toncenter.get_toncenter_parent_transaction(tx_hash, client=http)

        payouts, skipped = classify_payouts(txs, owner=owner_addr, root=root_addr, proxy_data=proxy_data,
                                            parent_transaction=parent if check_origin else None)
    if closes is None:
        closes = daily_closes("ton", cache_dir=None if cache_dir is None else str(cache_dir))
    payouts = value_payouts(payouts, closes)
    meta = {
        "owner": owner_addr.to_str(is_bounceable=False), "root": root_addr.to_str(),
        "start": str(first) if first else None, "end": str(last) if last else None,
        "source": tx_meta["source"], "pages": tx_meta["pages"], "transactions": len(txs),
        "skipped": {reason: int(n) for reason, n in skipped["reason"].value_counts().items()},
        "skipped_reasons": {k: REASONS[k] for k in skipped["reason"].unique()},
        "proxies": sorted(payouts["proxy"].unique().tolist()),
        "days_without_close": sorted({str(d.date()) for d in payouts.loc[payouts["close_usd"].isna(), "date"]}),
        "origin_checked": check_origin, "price_origin": closes.attrs.get("origin", "unknown"),
        "cache": None,
    }
    if save:
        path = payouts_cache_path(owner_addr, cache_dir)
        meta["cache"] = str(path)
        meta["fetched_at"] = _iso(datetime.now(UTC))
        with cache_lock(path):  # the CSV and its .json change together
            write_payouts_csv(payouts, path)
            atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2))
    return payouts, meta


PAYOUT_CSV_COLUMNS = ("time", "date", "tx_hash", "proxy", "ton", "value_nanoton", "worker_fee_per_token_nanoton",
                      "adjusted_tokens", "close_usd", "usd", "origin_checked")


def write_payouts_csv(payouts: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write payouts (one row each) atomically with ISO times and UTC days."""
    out = payouts.loc[:, list(PAYOUT_CSV_COLUMNS)].copy()
    out["time"] = out["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return atomic_write_csv(out, path)


def read_cached_payouts(owner: Address, cache_dir: str | os.PathLike[str] | None = None,
                        ) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The payouts last fetched for ``owner`` and that fetch's metadata (None when never fetched)."""
    path = payouts_cache_path(owner, cache_dir)
    if not path.exists():
        return None
    try:
        meta = json.loads(path.with_suffix(".json").read_text()) if path.with_suffix(".json").exists() else {}
        frame = pd.read_csv(path, dtype={"tx_hash": str, "proxy": str})
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
        frame["adjusted_tokens"] = frame["adjusted_tokens"].astype("Int64")
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: unreadable cached payouts ({exc}); run 'cocoon-econ chain payouts' again") from None
    return frame, meta



def tax_ledger(payouts: pd.DataFrame) -> pd.DataFrame:
    """The payouts as the engine's tax-style ledger (:func:`analysis.econ.tax.fifo_tax_ledger`): one
    ``income`` row per payout, valued at that day's close (the lot's cost basis). Sales are not
    on-chain facts this tool sees, so none are listed; ``attrs["open_ton"]`` is what was received."""
    missing = sorted({str(d.date()) for d in payouts.loc[payouts["close_usd"].isna(), "date"]})
    if missing:
        raise InputError(f"--tax: no TON/USD close for {', '.join(missing)}; run 'cocoon-econ fetch prices' "
                         "to extend the price series, or narrow --start/--end")
    receipts = pd.DataFrame({"date": payouts["date"].dt.date, "ton": payouts["ton"], "price_usd": payouts["close_usd"]})
    return tax.fifo_tax_ledger(receipts, pd.DataFrame(columns=["date", "ton", "price_usd"]))


def write_tax_csv(payouts: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write :func:`tax_ledger` with the engine's CSV writer (same columns as ``ledger --tax``)."""
    return tax.write_tax_csv(tax_ledger(payouts), path)
