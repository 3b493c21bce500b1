"""Which incoming transfers of an owner wallet are COCOON worker payouts.

How COCOON pays (contracts/cocoon_worker.fc, cocoon_proxy.fc): the worker contract computes
``worker_part = tokens_delta * worker_fee_per_token`` and sends the proxy a
``cocoon_worker_proxy_request#4d725d2c`` whose payload is a ``payout_request#08e7d036``; the proxy
checks that the sender is the worker contract it would deploy for that owner (``throw_unless(
error::contract_address_mismatch, …)``) and sends the owner ``cocoon_payout#c59a7cd3 query_id``
carrying exactly ``worker_part`` nanoTON. The proxy sends the same opcode for client refunds
(``client_proxy_request#65448ff4``) and for its own owner's withdrawals (``#7610e6eb``, close, the
"w" text command), so a payout is counted only when

1. the owner's transaction came in with opcode ``0xc59a7cd3`` and a body of op + query_id;
2. the sender's ``get_cocoon_proxy_data`` names the expected root (addresses compared as parsed
   :class:`Address` objects, never as strings: the indexer gives raw ``0:…`` forms, users give
   ``EQ…``/``UQ…``);
3. (origin check) the proxy transaction that sent it came in with opcode ``0x4d725d2c`` from a
   worker contract, naming this owner, with ``worker_part`` equal to the value received.

Who pays the gas (TelegramMessenger/cocoon b75d444, runners/): the proxy sends the signed payment
to the worker contract from its own wallet with 0.7 TON attached (``ProxyRunner::worker_payout``),
so the owner receives ``worker_part`` whole; the worker's node wallet pays only for what it sends
itself (``WorkerRunner::proxy_request_payout``, 0.5 TON attached). The economics model that as
the node's gas, an operating cost, and its 2.1 TON minimum balance as capital (analysis.econ.ledger).

Gas returned by the node wallet (a plain transfer with the text comment "w", cocoon_wallet
``TEXT_ACTION_WITHDRAW``) and ``excesses#2565934c`` are never income.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pytoniq_core import Address

from analysis.chain.contracts import (
    OP_EXCESSES,
    OP_PAYOUT,
    OP_WORKER_PROXY_REQUEST,
    ProxyData,
    parse_payout_body,
    parse_worker_proxy_request,
)
from analysis.core.units import NANOTON_PER_TON
from analysis.sources.toncenter import decode_boc

PAYOUT_COLUMNS = ("time", "date", "tx_hash", "lt", "proxy", "value_nanoton", "ton", "worker_fee_per_token_nanoton",
                  "adjusted_tokens", "query_id", "worker_tokens_total", "origin_checked")
SKIP_COLUMNS = ("time", "tx_hash", "source", "value_nanoton", "opcode", "reason")

# Why a transfer is not a payout (the "reason" column of the skipped frame).
REASONS = {
    "external": "external or outgoing message (no sender)",
    "bounced": "bounced message",
    "gas_return_w": 'gas returned by the node wallet (text "w")',
    "excesses": "excesses (gas returned)",
    "other_opcode": "not a cocoon_payout message",
    "bad_body": "opcode 0xc59a7cd3 but the body is not op + query_id",
    "not_a_proxy": "sender is not a COCOON proxy (get_cocoon_proxy_data failed)",
    "other_root": "sender is a proxy of another root",
    "not_worker_payout": "refund or proxy-owner withdrawal (proxy was not paying a worker)",
    "origin_unknown": "the proxy transaction that sent it is not indexed",
    "origin_mismatch": "the worker request names another owner or another amount",
}


def _addr(text: str | None) -> Address | None:
    try:
        return Address(text) if text else None
    except Exception:
        return None


def classify_payouts(transactions: pd.DataFrame, *, owner: Address, root: Address,
                     proxy_data: Callable[[Address], ProxyData | None],
                     parent_transaction: Callable[[str], pd.Series | None] | None = None,
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split an owner's transactions into worker payouts and everything else.

    Parameters
    ----------
    transactions : DataFrame
        Rows as :func:`analysis.sources.toncenter.parse_toncenter_transactions` makes them.
    owner, root : Address
        The worker owner's wallet and the COCOON root the proxies must belong to.
    proxy_data : callable
        ``proxy_data(address) -> ProxyData | None`` (None: not a proxy). Called once per sender.
    parent_transaction : callable, optional
        ``parent_transaction(tx_hash) -> row | None``: the proxy transaction that sent the payout.
        None skips the origin check (faster; only safe if the wallet is neither a COCOON client
        owner nor a proxy owner).

    Returns
    -------
    payouts : DataFrame
        One row per payout, oldest first: ``time`` (UTC), ``date`` (UTC day), ``tx_hash``, ``lt``,
        ``proxy`` (user-friendly), ``value_nanoton``, ``ton``, ``worker_fee_per_token_nanoton``,
        ``adjusted_tokens`` (value / the proxy's worker fee, exact since the worker contract pays
        ``tokens_delta * worker_fee_per_token``), ``query_id``, ``worker_tokens_total`` (the
        worker's cumulative adjusted tokens from the origin request, when checked),
        ``origin_checked``.
    skipped : DataFrame
        ``time``, ``tx_hash``, ``source``, ``value_nanoton``, ``opcode``, ``reason`` (see REASONS).
    """
    proxies: dict[Address, ProxyData | None] = {}
    payouts, skipped = [], []
    for row in transactions.itertuples(index=False):
        opcode = None if pd.isna(row.in_opcode) else int(row.in_opcode)

        def skip(reason: str, row=row, opcode=opcode) -> None:
            skipped.append({"time": row.time, "tx_hash": row.tx_hash, "source": row.in_source,
                            "value_nanoton": int(row.in_value_nanoton), "opcode": opcode, "reason": reason})

        sender = _addr(row.in_source)
        if sender is None:
            skip("external")
            continue
        if row.in_bounced:
            skip("bounced")
            continue
        if opcode != OP_PAYOUT:
            if opcode == 0 and (row.in_comment or "").strip() == "w":
                skip("gas_return_w")
            elif opcode == OP_EXCESSES:
                skip("excesses")
            else:
                skip("other_opcode")
            continue
        query_id = parse_payout_body(decode_boc(row.in_body, what="payout body")) if row.in_body else None
        if row.in_body and query_id is None:
            skip("bad_body")
            continue
        if sender not in proxies:
            proxies[sender] = proxy_data(sender)
        proxy = proxies[sender]
        if proxy is None:
            skip("not_a_proxy")
            continue
        if proxy.root != root:
            skip("other_root")
            continue
        value = int(row.in_value_nanoton)
        tokens_total = None
        if parent_transaction is not None:
            parent = parent_transaction(row.tx_hash)
            if parent is None:
                skip("origin_unknown")
                continue
            parent_opcode = None if pd.isna(parent["in_opcode"]) else int(parent["in_opcode"])
            if _addr(parent["account"]) != sender or parent_opcode != OP_WORKER_PROXY_REQUEST:
                skip("not_worker_payout")
                continue
            request = parse_worker_proxy_request(decode_boc(parent["in_body"], what="worker request body")) \
                if parent["in_body"] else None
            if request is not None:
                if request.owner != owner or (request.worker_part is not None and request.worker_part != value):
                    skip("origin_mismatch")
                    continue
                tokens_total = request.tokens
        fee = proxy.worker_fee_per_token
        payouts.append({
            "time": row.time, "tx_hash": row.tx_hash, "lt": int(row.lt),
            "proxy": sender.to_str(is_user_friendly=True, is_bounceable=True),
            "value_nanoton": value, "worker_fee_per_token_nanoton": fee,
            "adjusted_tokens": value // fee if fee > 0 else None,
            "query_id": query_id, "worker_tokens_total": tokens_total,
            "origin_checked": parent_transaction is not None,
        })
    out = pd.DataFrame(payouts, columns=[c for c in PAYOUT_COLUMNS if c not in ("date", "ton")])
    out["time"] = pd.to_datetime(out["time"], utc=True)
    out.insert(1, "date", out["time"].dt.tz_localize(None).dt.normalize())
    out.insert(6, "ton", out["value_nanoton"].astype("int64") / NANOTON_PER_TON)
    for col in ("value_nanoton", "lt", "worker_fee_per_token_nanoton"):
        out[col] = out[col].astype("int64")
    for col in ("adjusted_tokens", "query_id", "worker_tokens_total"):
        out[col] = out[col].astype("Int64")
    out["origin_checked"] = out["origin_checked"].astype(bool)
    skip_frame = pd.DataFrame(skipped, columns=list(SKIP_COLUMNS))
    return out.sort_values("lt", kind="stable").reset_index(drop=True), skip_frame


def value_payouts(payouts: pd.DataFrame, closes: pd.DataFrame) -> pd.DataFrame:
    """Add ``close_usd`` (TON/USD close of the payout's UTC day) and ``usd`` (= ``ton * close_usd``).

    ``closes`` is :func:`analysis.market.prices.daily_closes` output (indexed by ``date``). Days without
    a close get NaN rather than a guess.
    """
    out = payouts.copy()
    series = closes["close_usd"]
    out["close_usd"] = series.reindex(pd.DatetimeIndex(out["date"])).to_numpy(dtype=float)
    out["usd"] = out["ton"].to_numpy(dtype=float) * out["close_usd"].to_numpy(dtype=float)
    return out


def daily_payouts(payouts: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Payouts summed per UTC day over ``[start, end]`` (zero-filled), with running totals.

    Columns: ``ton``, ``adjusted_tokens``, ``usd`` (when valued), ``cum_ton``, ``cum_adjusted_tokens``,
    ``cum_usd``; index ``date``.
    """
    days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D", name="date")
    cols = ["ton", "adjusted_tokens"] + (["usd"] if "usd" in payouts.columns else [])
    frame = payouts.assign(adjusted_tokens=payouts["adjusted_tokens"].astype("float64"))
    grouped = frame.groupby("date")[cols].sum(min_count=1) if len(frame) else pd.DataFrame(columns=cols)
    out = grouped.reindex(days).astype(float)
    out[["ton", "adjusted_tokens"]] = out[["ton", "adjusted_tokens"]].fillna(0.0)
    if "usd" in cols:
        has_payout = out.index.isin(pd.DatetimeIndex(frame["date"]))
        out.loc[~has_payout, "usd"] = 0.0
    for col in cols:
        out[f"cum_{col}"] = np.cumsum(out[col].to_numpy())
    return out
