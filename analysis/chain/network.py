"""Observed demand: what the COCOON network pays, read from the chain.

Discovery
    The root's data holds the code cells of the proxy, worker and client contracts
    (``RootContractConfig::load_from_state``, TelegramMessenger/cocoon
    runners/smartcontracts/RootContractConfig.cpp). An account is a COCOON proxy, worker or
    client when the representation hash of its code cell equals the hash of the matching
    cell in the root (:attr:`pytoniq_core.Cell.hash`, never strings or BOC bytes). Candidates
    are the counterparties of the root's transactions (incoming senders and outgoing
    destinations) and, transitively, of every COCOON contract found; ``--proxy`` adds known
    addresses. A wallet next to the root or to a COCOON contract is read once for its own
    counterparties (that is how operators' wallets lead to the contracts they deployed);
    addresses two wallet hops away are not followed. Proxies must also name this root in
    their data (a proxy of a test root shares the code).

Classification (a proxy's incoming messages; cocoon-contracts cocoon_proxy.fc, cocoon_worker.fc,
cocoon_client.fc; the runner's ProxyContract.cpp reads the same messages)
    - ``worker_proxy_request#4d725d2c`` from a COCOON worker contract with a
      ``payout_request#08e7d036 worker_part:Coins proxy_part:Coins`` payload: the proxy sends
      the worker's owner ``cocoon_payout#c59a7cd3`` carrying exactly ``worker_part``; the
      worker contract computed ``worker_part = tokens_delta * worker_fee_per_token`` and
      ``proxy_part = tokens_delta * (price_per_token - worker_fee_per_token)``, so
      ``worker_part / fee`` are the adjusted tokens paid and ``proxy_part`` is the proxy's
      commission.
    - ``client_proxy_request#65448ff4`` from a COCOON client contract: every change of a
      client's state (top-up, proxy-signed charge ``ext_client_charge_signed#bb63ff93``,
      refund ``ext_client_grant_refund_signed#efd711e1``, withdrawal) is forwarded with the
      new ``balance`` and cumulative ``tokens_used``. A rise in ``tokens_used`` is a charge of
      ``min(delta * price_per_token, previous balance)`` (cocoon_client.fc ``update_balance``).
      ``refund_granted`` / ``refund_force`` payloads are refunds (the proxy pays the client's
      owner); ``top_up`` is a deposit. Neither is income.
    - ``ext_proxy_payout_request#7610e6eb``, the close forms and the text command "w" pay
      the proxy's owner: withdrawals, never income.
    Anything else (plain transfers, bounced and aborted messages, senders that are not COCOON
    contracts of the right kind) is kept as ``skipped`` with its reason.

Cache (``<cache>/chain/network/``)
    ``contracts.csv`` (every address looked at, its kind, code hash and the lt read up to, so
    a refresh reads only newer transactions), ``events.csv`` (every classified message),
    ``params.csv`` (the dated root/proxy parameter table) and ``summary.json`` (the newest
    reading of observed demand, read by :mod:`analysis.market.network_demand`). All four are
    written by :func:`save_network_cache`, each file atomically.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
from pytoniq_core import Address, Cell

from analysis.chain.contracts import (
    MAINNET_ROOT,
    OP_CLIENT_PROXY_REFUND_FORCE,
    OP_CLIENT_PROXY_REFUND_GRANTED,
    OP_CLIENT_PROXY_REQUEST,
    OP_CLIENT_PROXY_TOP_UP,
    OP_PAYOUT,
    OP_ROOT_UPGRADE_CONTRACTS,
    OP_WORKER_PROXY_REQUEST,
    PROXY_OWNER_WITHDRAWAL_OPS,
    parse_client_proxy_request,
    parse_proxy_data,
    parse_root_data,
    parse_root_price_change,
    parse_root_upgrade_contracts,
    parse_worker_data,
    parse_worker_proxy_request,
    root_code_cells,
)
from analysis.core.errors import DataError, InputError
from analysis.core.progress import progress_bar
from analysis.core.units import NANOTON_PER_TON
from analysis.market.network_demand import (
    DEFAULT_WINDOW_DAYS,
    NETWORK_DIR,
    PARAM_HISTORY_COLUMNS,
    SUMMARY_FILE,
    typed_parameter_history,
)
from analysis.market.store import atomic_write_csv, atomic_write_text, cache_lock
from analysis.market.store import cache_dir as resolve_cache_dir
from analysis.sources import toncenter
from analysis.sources.http import HttpClient
from analysis.sources.toncenter import decode_boc, parse_address

COCOON_KINDS = ("proxy", "worker", "client")
CONTRACT_COLUMNS = ("address", "kind", "code_hash", "found_via", "proxy", "owner", "price_per_token",
                    "worker_fee_per_token", "params_version", "lt_read", "transactions", "first_time", "note")
EVENT_COLUMNS = ("time", "date", "lt", "tx_hash", "proxy", "kind", "contract", "owner", "value_nanoton",
                 "commission_nanoton", "adjusted_tokens", "tokens_total", "balance_nanoton", "reason")
EVENT_KINDS = {
    "worker_payout": "worker payout (cocoon_payout on a worker's payout request)",
    "client_charge": "client charge (rise of a client's tokens_used)",
    "refund": "refund to a client's owner (not income)",
    "withdrawal": "proxy owner's withdrawal (not income)",
    "top_up": "client top-up (a deposit, not income)",
    "client_update": "client state change without a charge",
    "worker_update": "worker registration or state change without a payout",
    "skipped": "not counted (see reason)",
}
SKIP_REASONS = {
    "external": "external message",
    "bounced": "bounced message",
    "aborted": "the transaction aborted (nothing was paid)",
    "not_a_worker": "worker_proxy_request from an account that is not a COCOON worker contract",
    "not_a_client": "client_proxy_request from an account that is not a COCOON client contract",
    "bad_body": "COCOON opcode with a body that does not parse",
    "no_payout_sent": "payout request without the matching cocoon_payout out-message",
    "other": "not a COCOON payment message (plain transfer, excesses, ...)",
}
# A wallet read for counterparties is read up to this many pages (an exchange's hot wallet
# must not turn a crawl into hours); a capped read is reported in the metadata.
MAX_WALLET_PAGES = 4


def _raw(address: Address | str) -> str:
    addr = address if isinstance(address, Address) else Address(address)
    return addr.to_str(is_user_friendly=False)


def _friendly(raw: str) -> str:
    return Address(raw).to_str(is_user_friendly=True, is_bounceable=True) if raw else ""


def _maybe_raw(text: Any) -> str | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return _raw(text)
    except Exception:
        return None


@dataclass
class NetworkReading:
    """What :func:`read_network` returns.

    Attributes
    ----------
    contracts : DataFrame
        :data:`CONTRACT_COLUMNS`, one row per address looked at.
    events : DataFrame
        :data:`EVENT_COLUMNS`, one row per classified proxy message, oldest first.
    params : DataFrame
        :data:`PARAM_HISTORY_COLUMNS`: the dated parameter table.
    meta : dict
        ``root``, ``read_at``, ``source``, ``requests``, ``new_transactions``, ``capped_wallets``, ...
    """

    contracts: pd.DataFrame
    events: pd.DataFrame
    params: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- cache

def network_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    return resolve_cache_dir(cache_dir) / NETWORK_DIR


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def load_network_cache(cache_dir: str | os.PathLike[str] | None = None) -> NetworkReading | None:
    """The cached crawl (None when there is none)."""
    folder = network_cache_dir(cache_dir)
    if not (folder / "contracts.csv").exists():
        return None
    try:
        contracts = pd.read_csv(folder / "contracts.csv", dtype=str, keep_default_na=False)
        events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False) \
            if (folder / "events.csv").exists() else _empty(EVENT_COLUMNS)
        params = pd.read_csv(folder / "params.csv", dtype=str, keep_default_na=False) \
            if (folder / "params.csv").exists() else _empty(PARAM_HISTORY_COLUMNS)
        meta = json.loads((folder / SUMMARY_FILE).read_text()) if (folder / SUMMARY_FILE).exists() else {}
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{folder}: unreadable network cache ({exc}); delete the folder and run "
                        "'cocoon-econ chain network' again") from None
    for frame, columns in ((contracts, CONTRACT_COLUMNS), (events, EVENT_COLUMNS), (params, PARAM_HISTORY_COLUMNS)):
        missing = set(columns) - set(frame.columns)
        if missing:
            raise DataError(f"{folder}: the network cache lacks columns {sorted(missing)}; delete the folder and run "
                            "'cocoon-econ chain network' again")
    return NetworkReading(_typed_contracts(contracts), _typed_events(events), _typed_params(params), meta)


def _typed_contracts(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[:, list(CONTRACT_COLUMNS)].copy()
    for col in ("price_per_token", "worker_fee_per_token", "params_version", "lt_read", "transactions"):
        out[col] = pd.to_numeric(out[col].replace("", np.nan), errors="coerce").astype("Int64")
    for col in ("code_hash", "found_via", "proxy", "owner", "first_time", "note"):
        out[col] = out[col].fillna("").astype(str)
    return out.reset_index(drop=True)


def _typed_events(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[:, list(EVENT_COLUMNS)].copy()
    out["time"] = pd.to_datetime(out["time"], utc=True)
    out["date"] = out["time"].dt.tz_localize(None).dt.normalize()
    for col in ("lt", "value_nanoton", "commission_nanoton", "adjusted_tokens", "tokens_total", "balance_nanoton"):
        out[col] = pd.to_numeric(out[col].replace("", np.nan), errors="coerce").astype("Int64")
    for col in ("tx_hash", "proxy", "kind", "contract", "owner", "reason"):
        out[col] = out[col].fillna("").astype(str)
    return out.sort_values(["lt", "kind"], kind="stable").reset_index(drop=True)


_typed_params = typed_parameter_history


def _csv_time(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    if "time" in out:
        out["time"] = pd.to_datetime(out["time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if "date" in out:
        out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    return out


def save_network_cache(reading: NetworkReading, summary: dict[str, Any],
                       cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the crawl: every cache file of this feature is written here, each atomically.

    (One function so a cache lock can wrap the whole write.)
    """
    folder = network_cache_dir(cache_dir)
    # One lock for the set (issue 13): a concurrent crawl never interleaves its files with these.
    with cache_lock(folder / "contracts.csv"):
        atomic_write_csv(_csv_time(reading.events.loc[:, list(EVENT_COLUMNS)]), folder / "events.csv")
        atomic_write_csv(_csv_time(reading.params.loc[:, list(PARAM_HISTORY_COLUMNS)]), folder / "params.csv")
        atomic_write_text(folder / SUMMARY_FILE, json.dumps(summary, indent=2, default=str))
        # contracts.csv last: it holds the lt each account was read up to, so an interrupted write
        # makes the next refresh read again rather than skip.
        atomic_write_csv(reading.contracts.loc[:, list(CONTRACT_COLUMNS)], folder / "contracts.csv")
    return folder


# ----------------------------------------------------------------------------- crawl

@dataclass
class _Crawl:
    http: HttpClient
    root: str
    codes: dict[str, set[bytes]]      # kind -> representation hashes of every code version known
    contracts: dict[str, dict[str, Any]]
    page_size: int
    requests: int = 0
    new_transactions: int = 0
    capped_wallets: list[str] = field(default_factory=list)
    txs: dict[str, pd.DataFrame] = field(default_factory=dict)   # new transactions per COCOON contract

    def state(self, address: str) -> dict[str, Any]:
        self.requests += 1
        state, _ = toncenter.get_toncenter_account_state(address, client=self.http)
        return state

    def transactions(self, address: str, after_lt: int, max_pages: int | None = None) -> tuple[pd.DataFrame, bool]:
        """Transactions with lt > ``after_lt`` (all of them, or ``max_pages`` pages)."""
        if max_pages is None:
            frame, meta = toncenter.get_toncenter_transactions(address, start_lt=after_lt + 1 if after_lt else None,
                                                               page_size=self.page_size, client=self.http,
                                                               progress=False)
            self.requests += meta["pages"]
            return frame, False
        frames, capped = [], False
        params: dict[str, Any] = {"account": address, "limit": self.page_size, "sort": "asc"}
        if after_lt:
            params["start_lt"] = after_lt + 1
        for page_no in range(max_pages):
            self.requests += 1
            page = toncenter.parse_toncenter_transactions(
                self.http.get_json("api/v3/transactions", {**params, "offset": page_no * self.page_size}))
            frames.append(page)
            if len(page) < self.page_size:
                break
        else:
            capped = True
        frame = pd.concat(frames, ignore_index=True).drop_duplicates("tx_hash").sort_values("lt", kind="stable")
        if after_lt:
            frame = frame[frame["lt"] > after_lt]
        return frame.reset_index(drop=True), capped

    def kind_of(self, code: Cell | None) -> str | None:
        if code is None:
            return None
        for kind, hashes in self.codes.items():
            if code.hash in hashes:  # representation hashes, as pytoniq-core computes them
                return kind
        return None


def _counterparties(txs: pd.DataFrame) -> list[str]:
    out: list[str] = []
    for row in txs.itertuples(index=False):
        if (src := _maybe_raw(row.in_source)) is not None:
            out.append(src)
        for msg in row.out_msgs or ():
            if (dst := _maybe_raw(msg.get("destination"))) is not None:
                out.append(dst)
    return out


def _contract_row(address: str, kind: str, via: str, code: Cell | None = None) -> dict[str, Any]:
    return {"address": address, "kind": kind, "code_hash": code.hash.hex() if code is not None else "",
            "found_via": via, "proxy": "", "owner": "", "price_per_token": pd.NA, "worker_fee_per_token": pd.NA,
            "params_version": pd.NA, "lt_read": 0, "transactions": 0, "first_time": "", "note": ""}


def _describe(crawl: _Crawl, address: str, kind: str | None, state: dict[str, Any], row: dict[str, Any]) -> str:
    """Fill a contract row from its data cell; returns the final kind."""
    data = state.get("data")
    if kind == "proxy":
        try:
            proxy = parse_proxy_data(data) if data is not None else None
        except DataError as exc:
            row["note"] = str(exc)
            return "other"
        if proxy is None or proxy.root is None or _raw(proxy.root) != crawl.root:
            row["note"] = "proxy code, but its data names another root"
            return "other"
        row.update(owner=_raw(proxy.owner) if proxy.owner else "", price_per_token=proxy.price_per_token,
                   worker_fee_per_token=proxy.worker_fee_per_token, params_version=proxy.params_version)
    elif kind == "worker" and data is not None:
        try:
            owner, proxy_addr, _, _ = parse_worker_data(data)
            row.update(owner=_raw(owner) if owner else "", proxy=_raw(proxy_addr) if proxy_addr else "")
        except DataError as exc:
            row["note"] = str(exc)
    elif kind == "client" and data is not None:
        # cocoon_client.fc pack_cocoon_client_data: state, balance, stake, tokens_used, unlock_ts,
        # secret_hash, then ^[owner, proxy, proxy public key], ^params.
        try:
            cs = data.begin_parse()
            cs.load_uint(2)
            cs.load_coins()
            cs.load_coins()
            cs.skip_bits(64 + 32 + 256)
            ids = cs.load_ref().begin_parse()
            owner, proxy_addr = ids.load_address(), ids.load_address()
            row.update(owner=_raw(owner) if owner else "", proxy=_raw(proxy_addr) if proxy_addr else "")
        except Exception as exc:
            row["note"] = f"unreadable client data ({type(exc).__name__})"
    return kind or "other"


def crawl_network(crawl: _Crawl, start: Iterable[tuple[str, str]], *, progress: bool | None = None) -> None:
    """Breadth-first discovery from ``start`` (``(address, found_via)`` pairs), updating
    ``crawl.contracts`` and collecting new transactions of COCOON contracts in ``crawl.txs``.

    ``found_via`` is ``"root"``, ``"--proxy"``, ``"cache"`` or the address that led here.
    A non-COCOON address is expanded only when reached from the root or from a COCOON
    contract (one wallet hop).
    """
    queue: deque[tuple[str, str, bool]] = deque((a, via, True) for a, via in start)
    # address -> whether it was reached next to the root or a COCOON contract; one reached two
    # hops away first and next to a COCOON contract later is looked at again, and expanded.
    done: dict[str, bool] = {}
    with progress_bar("COCOON network crawl", total=len(queue), unit="account", enabled=progress) as bar:
        while queue:
            address, via, expand = queue.popleft()
            bar.update(1)
            if address == crawl.root or (address in done and (done[address] or not expand)):
                continue
            done[address] = expand
            row = crawl.contracts.get(address)
            if row is None:
                state = crawl.state(address)
                code = state.get("code")
                row = _contract_row(address, "other", via, code)
                kind = crawl.kind_of(code)
                row["kind"] = _describe(crawl, address, kind, state, row) if kind else ("wallet" if expand else "other")
                crawl.contracts[address] = row
            elif row["kind"] == "other" and expand:
                row["kind"] = "wallet"  # now next to the root or a COCOON contract: read its counterparties
            cocoon = row["kind"] in COCOON_KINDS
            if cocoon:
                done[address] = True  # a COCOON contract is read in full the first time
            elif not expand or row["kind"] != "wallet":
                continue
            after = int(row["lt_read"] or 0)
            txs, capped = crawl.transactions(address, after, None if cocoon else MAX_WALLET_PAGES)
            if capped:
                crawl.capped_wallets.append(address)
            if len(txs):
                crawl.new_transactions += len(txs)
                row["lt_read"] = int(txs["lt"].max())
                row["transactions"] = int(row["transactions"] or 0) + len(txs)
                if not row["first_time"]:
                    row["first_time"] = txs["time"].min().strftime("%Y-%m-%dT%H:%M:%SZ")
            if cocoon:
                crawl.txs[address] = txs
            new = list(_counterparties(txs))
            if row["kind"] in COCOON_KINDS and row.get("owner"):
                new.append(row["owner"])
            if row["kind"] in ("worker", "client") and row.get("proxy"):
                new.append(row["proxy"])
            for other in dict.fromkeys(new):
                if other not in done or (cocoon and not done[other]):
                    queue.append((other, address, cocoon))
                    bar.total = (bar.total or 0) + 1


# ----------------------------------------------------------------------------- classification

def _event(row: Any, proxy: str, kind: str, **values: Any) -> dict[str, Any]:
    out = {"time": row.time, "lt": int(row.lt), "tx_hash": row.tx_hash, "proxy": proxy, "kind": kind,
           "contract": "", "owner": "", "value_nanoton": 0, "commission_nanoton": 0, "adjusted_tokens": pd.NA,
           "tokens_total": pd.NA, "balance_nanoton": pd.NA, "reason": ""}
    out.update(values)
    return out


def _payout_outs(row: Any, to: str | None = None) -> list[int]:
    values = []
    for msg in row.out_msgs or ():
        if msg.get("opcode") == OP_PAYOUT and (to is None or _maybe_raw(msg.get("destination")) == to):
            values.append(int(msg.get("value_nanoton") or 0))
    return values


def classify_proxy_transactions(txs: pd.DataFrame, proxy: dict[str, Any], contracts: dict[str, dict[str, Any]],
                                client_states: dict[str, tuple[int, int | None]]) -> list[dict[str, Any]]:
    """Classify one proxy's transactions (oldest first) into events (see the module doc).

    ``client_states`` maps a client contract to its last ``(tokens_used, balance)`` and is
    updated in place, so charges continue correctly across incremental refreshes.
    """
    address = proxy["address"]
    price = int(proxy["price_per_token"])
    fee = int(proxy["worker_fee_per_token"])
    events: list[dict[str, Any]] = []
    for row in txs.sort_values("lt", kind="stable").itertuples(index=False):
        opcode = None if pd.isna(row.in_opcode) else int(row.in_opcode)
        sender = _maybe_raw(row.in_source)

        def skip(reason: str, row: Any = row, sender: str | None = sender) -> None:
            events.append(_event(row, address, "skipped", contract=sender or "",
                                 value_nanoton=int(row.in_value_nanoton), reason=reason))

        if sender is None:
            skip("external")
            continue
        if row.in_bounced:
            skip("bounced")
            continue
        def checked(kind: str, parser: Any, row: Any = row, sender: str = sender) -> Any:
            """The parsed request from a COCOON contract of ``kind`` in a transaction that ran;
            None (recorded as skipped) otherwise."""
            if contracts.get(sender, {}).get("kind") != kind:
                skip(f"not_a_{kind}")
                return None
            if row.aborted:
                skip("aborted")
                return None
            parsed = parser(decode_boc(row.in_body, what=f"{kind} request body"))
            if parsed is None:
                skip("bad_body")
            return parsed

        if opcode == OP_WORKER_PROXY_REQUEST:
            request = checked("worker", parse_worker_proxy_request)
            if request is None:
                continue
            owner = _raw(request.owner) if request.owner else ""
            if request.worker_part is None:
                events.append(_event(row, address, "worker_update", contract=sender, owner=owner,
                                     tokens_total=request.tokens))
                continue
            sent = _payout_outs(row, owner)
            if row.out_msgs and request.worker_part not in sent:
                skip("no_payout_sent")
                continue
            events.append(_event(row, address, "worker_payout", contract=sender, owner=owner,
                                 value_nanoton=request.worker_part, commission_nanoton=request.proxy_part or 0,
                                 adjusted_tokens=request.worker_part // fee if fee > 0 else pd.NA,
                                 tokens_total=request.tokens))
        elif opcode == OP_CLIENT_PROXY_REQUEST:
            client_request = checked("client", parse_client_proxy_request)
            if client_request is None:
                continue
            owner = _raw(client_request.owner) if client_request.owner else ""
            prev_tokens, prev_balance = client_states.get(sender, (0, None))
            delta = client_request.tokens_used - prev_tokens
            common = {"contract": sender, "owner": owner, "tokens_total": client_request.tokens_used,
                      "balance_nanoton": client_request.balance}
            if delta > 0:
                cost = delta * price
                # cocoon_client.fc update_balance: the whole cost when the balance covers it,
                # else everything that is left.
                charged = cost if prev_balance is None else min(cost, prev_balance)
                events.append(_event(row, address, "client_charge", value_nanoton=charged, adjusted_tokens=delta,
                                     **common))
            if client_request.payload_op in (OP_CLIENT_PROXY_REFUND_GRANTED, OP_CLIENT_PROXY_REFUND_FORCE):
                sent = _payout_outs(row, owner)
                events.append(_event(row, address, "refund", value_nanoton=sum(sent) if sent
                                     else int(client_request.payload_coins or 0), **common))
            elif client_request.payload_op == OP_CLIENT_PROXY_TOP_UP:
                events.append(_event(row, address, "top_up", value_nanoton=int(client_request.payload_coins or 0), **common))
            elif delta <= 0:
                events.append(_event(row, address, "client_update", **common))
            client_states[sender] = (max(client_request.tokens_used, prev_tokens), client_request.balance)
        elif opcode in PROXY_OWNER_WITHDRAWAL_OPS or (opcode == 0 and (row.in_comment or "").strip() in ("w", "c")):
            if row.aborted:
                skip("aborted")
                continue
            sent = _payout_outs(row)
            if sent:
                events.append(_event(row, address, "withdrawal", contract=sender, owner=proxy.get("owner", ""),
                                     value_nanoton=sum(sent)))
            else:
                skip("other")
        else:
            skip("other")
    return events


def root_parameter_changes(txs: pd.DataFrame, root: str) -> list[dict[str, Any]]:
    """Dated ``root_change_price`` / ``root_change_params`` updates among the root's transactions
    (cocoon_root.fc: only the root's owner may send them; an aborted one changed nothing)."""
    rows = []
    for row in txs.itertuples(index=False):
        if row.aborted or row.in_bounced or not row.in_body:
            continue
        opcode = None if pd.isna(row.in_opcode) else int(row.in_opcode)
        if opcode == OP_ROOT_UPGRADE_CONTRACTS:
            rows.append({"time": row.time, "scope": "root", "address": root, "price_per_token": pd.NA,
                         "worker_fee_per_token": pd.NA, "params_version": pd.NA,
                         "source": f"root_upgrade_contracts in {row.tx_hash}"})
            continue
        change = parse_root_price_change(decode_boc(row.in_body, what="root message body"))
        if change is None:
            continue
        op, price, fee = change
        name = "root_change_price" if op == 0xC52ED8D4 else "root_change_params"
        rows.append({"time": row.time, "scope": "root", "address": root, "price_per_token": price,
                     "worker_fee_per_token": fee, "params_version": pd.NA, "source": f"{name} in {row.tx_hash}"})
    return rows


# ----------------------------------------------------------------------------- the reading

def _client(base_url: str | None, session: requests.Session | None, client: HttpClient | None) -> HttpClient:
    return client or toncenter.toncenter_client(base_url or toncenter.DEFAULT_BASE_URL, session)


def read_network(*, root: str = MAINNET_ROOT, proxies: Iterable[str] = (), base_url: str | None = None,
                 session: requests.Session | None = None, client: HttpClient | None = None,
                 cache_dir: str | os.PathLike[str] | None = None, refresh: bool = True, save: bool = True,
                 page_size: int = 500, window_days: int = DEFAULT_WINDOW_DAYS,
                 progress: bool | None = None) -> NetworkReading:
    """Discover COCOON's contracts from the root, read their new transactions and classify them.

    Parameters
    ----------
    root : str
        The root contract (default: mainnet).
    proxies : iterable of str
        Known proxy addresses to add to the candidates (``--proxy``); they must still have the
        root's proxy code.
    refresh : bool
        False: use the cache only (no request); DataError when there is none.
    save : bool
        Write the cache (:func:`save_network_cache`) and ``summary.json``.
    window_days : int
        Trailing window of the summary's per-worker demand.

    Returns
    -------
    NetworkReading
        The whole history known so far (cache + new transactions).
    """
    root_raw = _raw(parse_address(root, "--root"))
    extra = [_raw(parse_address(p, "--proxy")) for p in proxies]
    if window_days < 1:
        raise InputError(f"--window: {window_days} days; use at least 1")
    cached = load_network_cache(cache_dir)
    if cached is not None and cached.meta.get("root") not in (None, root_raw):
        cached = None  # another root's crawl: start again
    if not refresh:
        if cached is None:
            raise DataError("no cached COCOON network reading; run 'cocoon-econ chain network' first")
        return cached
    http = _client(base_url, session, client)
    state, _ = toncenter.get_toncenter_account_state(root_raw, client=http)
    if state["status"] not in ("active", None) or state["data"] is None:
        raise InputError(f"--root {root}: the account is {state['status'] or 'empty'}, not a deployed COCOON root; "
                         f"use the mainnet root {MAINNET_ROOT}")
    params = parse_root_data(state["data"])
    codes = root_code_cells(state["data"])
    if all(c is None for c in codes.values()):
        raise DataError(f"COCOON root {root}: its params hold no contract code, so nothing can be recognised")
    contracts: dict[str, dict[str, Any]] = {}
    if cached is not None:
        for row in cached.contracts.to_dict("records"):
            contracts[row["address"]] = {k: (pd.NA if v is None else v) for k, v in row.items()}
    # Every code version known: the root's current cells, those of each root_upgrade_contracts
    # read so far (a contract deployed before an upgrade keeps its old code), and the cached ones.
    code_versions: dict[str, set[bytes]] = {k: ({c.hash} if c is not None else set()) for k, c in codes.items()}
    for kind, hashes in ((cached.meta.get("known_code_hashes") or {}) if cached is not None else {}).items():
        code_versions.setdefault(kind, set()).update(bytes.fromhex(h) for h in hashes)
    crawl = _Crawl(http=http, root=root_raw, codes=code_versions, contracts=contracts, page_size=page_size, requests=1)
    root_row = contracts.setdefault(root_raw, _contract_row(root_raw, "root", "root", state.get("code")))
    root_txs, _ = crawl.transactions(root_raw, int(root_row["lt_read"] or 0))
    for row in root_txs.itertuples(index=False):
        upgrade = None if row.aborted or not row.in_body else \
            parse_root_upgrade_contracts(decode_boc(row.in_body, what="root message body"))
        for kind, cell in (upgrade or {}).items():
            code_versions[kind].add(cell.hash)
    if len(root_txs):
        root_row["lt_read"] = int(root_txs["lt"].max())
        root_row["transactions"] = int(root_row["transactions"] or 0) + len(root_txs)
        root_row["first_time"] = root_row["first_time"] or root_txs["time"].min().strftime("%Y-%m-%dT%H:%M:%SZ")
    starts = [(a, "root") for a in dict.fromkeys(_counterparties(root_txs))]
    starts += [(a, "--proxy") for a in extra]
    # Known COCOON contracts and wallets are read again for their new transactions.
    starts += [(a, "cache") for a, r in contracts.items() if r["kind"] in (*COCOON_KINDS, "wallet")]
    crawl_network(crawl, starts, progress=progress)

    # Classification, proxy by proxy, continuing each client's state from the cache.
    old_events = cached.events if cached is not None else _typed_events(_empty(EVENT_COLUMNS))
    client_states: dict[str, tuple[int, int | None]] = {}
    states = old_events[old_events["tokens_total"].notna() & old_events["kind"].isin(
        ["client_charge", "refund", "top_up", "client_update"])]
    for contract, group in states.groupby("contract"):
        last = group.iloc[-1]
        balance = None if pd.isna(last["balance_nanoton"]) else int(last["balance_nanoton"])
        client_states[str(contract)] = (int(group["tokens_total"].max()), balance)
    new_events: list[dict[str, Any]] = []
    for address, txs in crawl.txs.items():
        row = contracts[address]
        if row["kind"] == "proxy" and len(txs):
            new_events += classify_proxy_transactions(txs, row, contracts, client_states)
    events = old_events
    if new_events:
        fresh = pd.DataFrame(new_events, columns=[c for c in EVENT_COLUMNS if c != "date"])
        fresh["time"] = pd.to_datetime(fresh["time"], utc=True)
        fresh.insert(1, "date", fresh["time"].dt.tz_localize(None).dt.normalize())
        events = _typed_events(pd.concat([old_events.astype(object), fresh.astype(object)], ignore_index=True)
                               .drop_duplicates(["tx_hash", "kind", "contract"]))

    # The dated parameter table: root updates, each proxy's own price and fee, and today's root.
    read_at = datetime.now(UTC).replace(microsecond=0)
    history = cached.params.to_dict("records") if cached is not None else []
    history += root_parameter_changes(root_txs, root_raw)
    known = {(r["scope"], r["address"]) for r in history if r["scope"] == "proxy"}
    for address, row in contracts.items():
        if row["kind"] == "proxy" and ("proxy", address) not in known:
            history.append({"time": row["first_time"] or read_at, "scope": "proxy", "address": address,
                            "price_per_token": row["price_per_token"], "worker_fee_per_token": row["worker_fee_per_token"],
                            "params_version": row["params_version"], "source": "proxy data (deployed with these)"})
    history.append({"time": read_at, "scope": "root", "address": root_raw, "price_per_token": params.price_per_token,
                    "worker_fee_per_token": params.worker_fee_per_token, "params_version": params.params_version,
                    "source": "root state"})
    param_frame = pd.DataFrame(history, columns=[c for c in PARAM_HISTORY_COLUMNS if c != "date"])
    param_frame["time"] = pd.to_datetime(param_frame["time"], utc=True, format="mixed")
    param_frame.insert(1, "date", param_frame["time"].dt.tz_localize(None).dt.normalize())
    param_frame = _dedupe_params(_typed_params(param_frame.astype(object)))

    contract_frame = _typed_contracts(pd.DataFrame(list(contracts.values()), columns=list(CONTRACT_COLUMNS))
                                      .astype(object).fillna(""))
    meta = {
        "root": root_raw, "read_at": read_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": f"toncenter v3 ({http.base_url}): crawl from COCOON root {_friendly(root_raw)}",
        "requests": crawl.requests, "new_transactions": crawl.new_transactions,
        "capped_wallets": [_friendly(a) for a in crawl.capped_wallets],
        "root_params": {"price_per_token": params.price_per_token, "worker_fee_per_token": params.worker_fee_per_token,
                        "params_version": params.params_version},
        "code_hashes": {k: (c.hash.hex() if c is not None else None) for k, c in codes.items()},
        "known_code_hashes": {k: sorted(h.hex() for h in v) for k, v in code_versions.items()},
    }
    reading = NetworkReading(contract_frame, events, param_frame, meta)
    if save:
        save_network_cache(reading, network_summary(reading, window_days=window_days), cache_dir)
    return reading


def _dedupe_params(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per change: a root row repeating the previous root values is dropped (a
    refresh re-reads the root state every time)."""
    keep = []
    last: dict[tuple[str, str], tuple[Any, Any]] = {}
    for i, row in frame.iterrows():
        key = (row["scope"], row["address"])
        values = (row["price_per_token"], row["worker_fee_per_token"])
        if row["source"] == "root state" and last.get(key) == values:
            continue
        if not pd.isna(values[0]):
            last[key] = values
        keep.append(i)
    return frame.loc[keep].reset_index(drop=True)


# ----------------------------------------------------------------------------- tables

def _ton(nanoton: pd.Series) -> pd.Series:
    return nanoton.astype("float64") / NANOTON_PER_TON


def daily_network(events: pd.DataFrame, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """The daily table (UTC days over ``[start, end]``, zero-filled).

    Columns: ``client_spend_ton``, ``worker_payouts_ton``, ``commission_ton``, ``refunds_ton``,
    ``withdrawals_ton``, ``adjusted_tokens_paid`` (each payout / its proxy's worker fee),
    ``payouts``, ``active_workers`` (distinct worker contracts paid that day),
    ``active_clients`` (distinct client contracts charged that day) and, over the workers
    paid that day, ``worker_adjusted_tokens_p10`` / ``_p50`` / ``_p90`` (NaN on days without
    a payout).
    """
    dates = events["date"]
    first = pd.Timestamp(start) if start else (dates.min() if len(events) else None)
    last = pd.Timestamp(end) if end else (dates.max() if len(events) else None)
    columns = ["client_spend_ton", "worker_payouts_ton", "commission_ton", "refunds_ton", "withdrawals_ton",
               "adjusted_tokens_paid", "payouts", "active_workers", "active_clients", "worker_adjusted_tokens_p10",
               "worker_adjusted_tokens_p50", "worker_adjusted_tokens_p90"]
    if first is None or last is None:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], name="date"))
    days = pd.date_range(first.normalize(), last.normalize(), freq="D", name="date")
    inside = events[(dates >= days[0]) & (dates <= days[-1])]
    out = pd.DataFrame(index=days)

    def total(kind: str, col: str = "value_nanoton") -> pd.Series:
        part = inside[inside["kind"] == kind]
        return part.groupby("date")[col].sum().reindex(days, fill_value=0).astype("float64")

    pay = inside[inside["kind"] == "worker_payout"]
    charges = inside[inside["kind"] == "client_charge"]
    out["client_spend_ton"] = total("client_charge") / NANOTON_PER_TON
    out["worker_payouts_ton"] = total("worker_payout") / NANOTON_PER_TON
    out["commission_ton"] = total("worker_payout", "commission_nanoton") / NANOTON_PER_TON
    out["refunds_ton"] = total("refund") / NANOTON_PER_TON
    out["withdrawals_ton"] = total("withdrawal") / NANOTON_PER_TON
    out["adjusted_tokens_paid"] = total("worker_payout", "adjusted_tokens")
    out["payouts"] = pay.groupby("date").size().reindex(days, fill_value=0).astype("int64")
    out["active_workers"] = pay.groupby("date")["contract"].nunique().reindex(days, fill_value=0).astype("int64")
    out["active_clients"] = charges.groupby("date")["contract"].nunique().reindex(days, fill_value=0).astype("int64")
    per_worker = pay.groupby(["date", "contract"])["adjusted_tokens"].sum().astype("float64")
    for q in (10, 50, 90):
        col = f"worker_adjusted_tokens_p{q}"
        if len(per_worker):
            out[col] = per_worker.groupby(level="date").quantile(q / 100).reindex(days)
        else:
            out[col] = np.nan
    out.index.name = "date"
    return out[columns]


def worker_demand(events: pd.DataFrame, contracts: pd.DataFrame, end: date, window_days: int = DEFAULT_WINDOW_DAYS,
                  ) -> pd.DataFrame:
    """Per worker contract paid in the trailing window ``(end - window_days, end]``: payouts,
    TON, adjusted tokens and ``adjusted_tokens_per_day`` (window total / ``window_days``)."""
    last = pd.Timestamp(end).normalize()
    first = last - pd.Timedelta(days=window_days - 1)
    pay = events[(events["kind"] == "worker_payout") & (events["date"] >= first) & (events["date"] <= last)]
    columns = ["worker", "proxy", "owner", "payouts", "ton", "adjusted_tokens", "adjusted_tokens_per_day",
               "first_payout", "last_payout"]
    if pay.empty:
        return pd.DataFrame(columns=columns)
    grouped = pay.groupby("contract")
    out = pd.DataFrame({
        "proxy": grouped["proxy"].last(), "owner": grouped["owner"].last(), "payouts": grouped.size(),
        "ton": grouped["value_nanoton"].sum().astype("float64") / NANOTON_PER_TON,
        "adjusted_tokens": grouped["adjusted_tokens"].sum().astype("int64"),
        "first_payout": grouped["date"].min().dt.strftime("%Y-%m-%d"),
        "last_payout": grouped["date"].max().dt.strftime("%Y-%m-%d"),
    })
    out["adjusted_tokens_per_day"] = out["adjusted_tokens"].astype("float64") / window_days
    out = out.rename_axis("worker").reset_index()
    return out[columns].sort_values("adjusted_tokens_per_day", ascending=False, kind="stable").reset_index(drop=True)


def network_summary(reading: NetworkReading, *, window_days: int = DEFAULT_WINDOW_DAYS,
                    end: date | None = None) -> dict[str, Any]:
    """The observed-demand summary saved as ``summary.json`` (read by
    :func:`analysis.market.network_demand.observed_demand`)."""
    events = reading.events
    read_at = reading.meta.get("read_at")
    if end is None:
        end = pd.Timestamp(read_at).date() if read_at else datetime.now(UTC).date()
    workers = worker_demand(events, reading.contracts, end, window_days)
    per_day = workers["adjusted_tokens_per_day"].astype("float64") if len(workers) else pd.Series(dtype="float64")
    window_start = end - timedelta(days=window_days - 1)
    kinds = reading.contracts["kind"].value_counts()
    return {
        **{k: v for k, v in reading.meta.items() if k not in ("window",)},
        "window_days": window_days, "window_start": str(window_start), "window_end": str(end),
        "workers_paid_in_window": len(workers),
        "median_adjusted_tokens_per_worker_day": float(per_day.median()) if len(per_day) else 0.0,
        "p10_adjusted_tokens_per_worker_day": float(per_day.quantile(0.1)) if len(per_day) else 0.0,
        "p90_adjusted_tokens_per_worker_day": float(per_day.quantile(0.9)) if len(per_day) else 0.0,
        "workers": workers.to_dict("records"),
        "contracts": {k: int(kinds.get(k, 0)) for k in COCOON_KINDS},
        "totals": network_totals(events),
    }


def network_totals(events: pd.DataFrame, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """Sums over the events in ``[start, end]`` (all when None)."""
    part = events
    if start is not None:
        part = part[part["date"] >= pd.Timestamp(start)]
    if end is not None:
        part = part[part["date"] <= pd.Timestamp(end)]

    def ton(kind: str, col: str = "value_nanoton") -> float:
        return float(part.loc[part["kind"] == kind, col].astype("float64").sum()) / NANOTON_PER_TON

    pay = part[part["kind"] == "worker_payout"]
    skipped = part[part["kind"] == "skipped"]["reason"].value_counts()
    return {
        "client_spend_ton": ton("client_charge"), "worker_payouts_ton": ton("worker_payout"),
        "commission_ton": ton("worker_payout", "commission_nanoton"), "refunds_ton": ton("refund"),
        "withdrawals_ton": ton("withdrawal"), "top_ups_ton": ton("top_up"),
        "adjusted_tokens_paid": int(pay["adjusted_tokens"].astype("float64").sum()),
        "payouts": len(pay), "charges": int((part["kind"] == "client_charge").sum()),
        "workers_paid": int(pay["contract"].nunique()),
        "clients_charged": int(part.loc[part["kind"] == "client_charge", "contract"].nunique()),
        "skipped": {str(k): int(v) for k, v in skipped.items()},
    }


def proxy_table(reading: NetworkReading, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """One row per COCOON proxy: its price and fee, workers and clients, and its sums."""
    contracts = reading.contracts
    proxies = contracts[contracts["kind"] == "proxy"]
    events = reading.events
    if start is not None:
        events = events[events["date"] >= pd.Timestamp(start)]
    if end is not None:
        events = events[events["date"] <= pd.Timestamp(end)]
    rows = []
    for p in proxies.itertuples(index=False):
        mine = events[events["proxy"] == p.address]
        rows.append({
            "proxy": p.address, "owner": p.owner, "price_per_token": p.price_per_token,
            "worker_fee_per_token": p.worker_fee_per_token, "params_version": p.params_version,
            "first_time": p.first_time, "lt_read": p.lt_read,
            "workers": int(((contracts["kind"] == "worker") & (contracts["proxy"] == p.address)).sum()),
            "clients": int(((contracts["kind"] == "client") & (contracts["proxy"] == p.address)).sum()),
            "client_spend_ton": float(mine.loc[mine["kind"] == "client_charge", "value_nanoton"].astype(float).sum())
            / NANOTON_PER_TON,
            "worker_payouts_ton": float(mine.loc[mine["kind"] == "worker_payout", "value_nanoton"].astype(float).sum())
            / NANOTON_PER_TON,
            "commission_ton": float(mine.loc[mine["kind"] == "worker_payout", "commission_nanoton"].astype(float).sum())
            / NANOTON_PER_TON,
        })
    return pd.DataFrame(rows)
