"""A whole COCOON network for the `chain network` tests, served by a loopback toncenter v3.

Cells are built with pytoniq-core in the layouts of cocoon-contracts (cocoon_proxy.fc,
cocoon_worker.fc, cocoon_client.fc, cocoon_root.fc) and the runner's
runners/smartcontracts/*Contract.cpp ``init_data_cell``:

- root: params with the proxy, worker and client code cells (``params_cell(codes=...)``);
- proxy P1 (price 20, fee 19, deployed by the root owner's wallet), proxy P2 (price 24, fee 22,
  deployed after a ``root_change_price`` by a wallet the root never sees: found through worker
  W3, whose owner O1 also works for P1), proxy PF with a foreign code cell (deployed by the
  root owner too, so it is a candidate; never counted);
- workers W1, W2 (P1) and W3 (P2); clients C1 (P1) and C2 (P2); a fake worker FW (a wallet
  sending worker_proxy_request), a decoy transfer, an aborted payout, a bounced message.

Hand-computed totals are in :data:`EXPECTED_DAYS` (TON) with day 0 = ``DAY0``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from chain_builders import (
    MAINNET_ROOT,
    ROOT_OWNER,
    FakeTon,
    addr,
    b64,
    message,
    params_cell,
    root_data_cell,
    toncenter_handler,
    transaction,
)
from pytoniq_core import Address, Cell, begin_cell
from werkzeug import Request, Response

from analysis.chain import contracts as C

G = 10**9  # nanoTON per TON

PROXY_CODE = begin_cell().store_uint(0xC0C0_0001, 32).end_cell()
WORKER_CODE = begin_cell().store_uint(0xC0C0_0002, 32).end_cell()
CLIENT_CODE = begin_cell().store_uint(0xC0C0_0003, 32).end_cell()
FOREIGN_CODE = begin_cell().store_uint(0xBAD0_0001, 32).end_cell()
WALLET_CODE = begin_cell().store_uint(0x0A11E7, 24).end_cell()

P1, P2, PF = addr(0x701), addr(0x702), addr(0x70F)
W1, W2, W3 = addr(0x801), addr(0x802), addr(0x803)
C1, C2 = addr(0x901), addr(0x902)
O1, O2 = addr(0xA01), addr(0xA02)          # worker owners
CO1, CO2 = addr(0xB01), addr(0xB02)        # client owners
OP2 = addr(0xC02)                          # P2's deployer (never talks to the root)
FW = addr(0xD01)                           # fake worker: a wallet
DECOY = addr(0xD02)

DAY0 = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(day: int, hour: int) -> int:
    return int((DAY0 + dt.timedelta(days=day, hours=hour)).timestamp())


def day(n: int) -> dt.date:
    return (DAY0 + dt.timedelta(days=n)).date()


# Hand-computed daily table (see the comments at each transaction below).
EXPECTED_DAYS = {
    0: {"client_spend_ton": 2.0, "worker_payouts_ton": 0.0, "commission_ton": 0.0, "refunds_ton": 0.0,
        "withdrawals_ton": 0.0, "adjusted_tokens_paid": 0, "active_workers": 0, "active_clients": 1},
    1: {"client_spend_ton": 0.0, "worker_payouts_ton": 1.52, "commission_ton": 0.08, "refunds_ton": 0.0,
        "withdrawals_ton": 0.0, "adjusted_tokens_paid": 80_000_000, "active_workers": 2, "active_clients": 0},
    2: {"client_spend_ton": 8.0, "worker_payouts_ton": 1.9, "commission_ton": 0.1, "refunds_ton": 0.0,
        "withdrawals_ton": 0.5, "adjusted_tokens_paid": 100_000_000, "active_workers": 1, "active_clients": 1},
    3: {"client_spend_ton": 2.4, "worker_payouts_ton": 2.2, "commission_ton": 0.2, "refunds_ton": 4.6,
        "withdrawals_ton": 0.0, "adjusted_tokens_paid": 100_000_000, "active_workers": 1, "active_clients": 1},
}


# ----------------------------------------------------------------------------- cells

def proxy_data(owner: Address, *, price: int, fee: int, params_version: int, root: Address = MAINNET_ROOT) -> Cell:
    """ProxyContract::init_data_cell / pack_cocoon_proxy_data (params without code cells)."""
    params = params_cell(4, params_version=params_version, price=price, fee=fee)
    return (begin_cell().store_address(owner).store_uint(0x5EC, 256).store_address(root).store_uint(0, 2)
            .store_coins(0).store_coins(15 * G).store_uint(0, 32).store_ref(params).end_cell())


def worker_data(owner: Address, proxy: Address) -> Cell:
    """WorkerContract::init_data_cell: owner, proxy, proxy key, state u2, tokens u64, ^params."""
    return (begin_cell().store_address(owner).store_address(proxy).store_uint(0x5EC, 256).store_uint(0, 2)
            .store_uint(0, 64).store_ref(params_cell(4)).end_cell())


def client_data(owner: Address, proxy: Address) -> Cell:
    """ClientContract::init_data_cell: state, balance, stake, tokens, unlock_ts, secret hash,
    ^[owner, proxy, key], ^params."""
    ids = begin_cell().store_address(owner).store_address(proxy).store_uint(0x5EC, 256).end_cell()
    return (begin_cell().store_uint(0, 2).store_coins(0).store_coins(G).store_uint(0, 64).store_uint(0, 32)
            .store_uint(0, 256).store_ref(ids).store_ref(params_cell(4)).end_cell())


def worker_request(owner: Address, tokens: int, worker_part: int | None, proxy_part: int = 0, qid: int = 1) -> Cell:
    """cocoon_worker.fc forward_payout_request (payload payout_request#08e7d036)."""
    payload = None
    if worker_part is not None:
        payload = (begin_cell().store_uint(C.OP_WORKER_PROXY_PAYOUT_REQUEST, 32).store_coins(worker_part)
                   .store_coins(proxy_part).store_address(owner).end_cell())
    return (begin_cell().store_uint(C.OP_WORKER_PROXY_REQUEST, 32).store_uint(qid, 64).store_address(owner)
            .store_uint(0, 2).store_uint(tokens, 64).store_maybe_ref(payload).end_cell())


def client_request(owner: Address, *, balance: int, tokens: int, payload_op: int | None = None,
                   coins: int = 0, stake: int = G, qid: int = 2) -> Cell:
    """cocoon_client.fc forward_message_to_proxy (state cell + optional payload)."""
    state = (begin_cell().store_uint(0, 2).store_coins(balance).store_coins(stake).store_uint(tokens, 64)
             .store_uint(0, 256).end_cell())
    payload = None
    if payload_op is not None:
        payload = begin_cell().store_uint(payload_op, 32).store_coins(coins).store_address(owner).end_cell()
    return (begin_cell().store_uint(C.OP_CLIENT_PROXY_REQUEST, 32).store_uint(qid, 64).store_address(owner)
            .store_ref(state).store_maybe_ref(payload).end_cell())


def op_body(op: int, qid: int = 3, tail: Any = None) -> Cell:
    b = begin_cell().store_uint(op, 32).store_uint(qid, 64)
    if tail is not None:
        b = tail(b)
    return b.end_cell()


def payout_out(to: Address, value: int) -> dict[str, Any]:
    """A cocoon_payout out-message as toncenter v3 lists it."""
    return message(None, value, begin_cell().store_uint(C.OP_PAYOUT, 32).store_uint(1, 64).end_cell(), destination=to)


def plain_out(to: Address, value: int = 10**7) -> dict[str, Any]:
    return message(None, value, None, destination=to)


# ----------------------------------------------------------------------------- the network

class Network(FakeTon):
    """FakeTon with the whole network and a request log."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, dict[str, str]]] = []
        self._lt = 1_000_000
        root_params = params_cell(4, params_version=8, price=24, fee=22, codes=(PROXY_CODE, WORKER_CODE, CLIENT_CODE))
        self.accounts[MAINNET_ROOT] = _account(root_data_cell(root_params), code=_code_of_root())
        self.account(P1, PROXY_CODE, proxy_data(ROOT_OWNER, price=20, fee=19, params_version=7))
        self.account(P2, PROXY_CODE, proxy_data(OP2, price=24, fee=22, params_version=8))
        self.account(PF, FOREIGN_CODE, proxy_data(ROOT_OWNER, price=20, fee=19, params_version=7))
        for w, owner, proxy in ((W1, O1, P1), (W2, O2, P1), (W3, O1, P2)):
            self.account(w, WORKER_CODE, worker_data(owner, proxy))
        for c, owner, proxy in ((C1, CO1, P1), (C2, CO2, P2)):
            self.account(c, CLIENT_CODE, client_data(owner, proxy))
        for wallet in (ROOT_OWNER, O1, O2, CO1, CO2, OP2, FW, DECOY):
            self.account(wallet, WALLET_CODE, begin_cell().store_uint(0, 32).end_cell())
        self._build()

    def account(self, address: Address, code: Cell, data: Cell) -> None:
        self.accounts[address] = _account(data, code=code)

    def tx(self, account: Address, when: int, source: Address | None, value: int, body: Cell | None, *,
           outs: list[dict[str, Any]] = (), aborted: bool = False, bounced: bool = False,
           comment: str | None = None) -> dict[str, Any]:
        self._lt += 1000
        tx_hash = base64.b64encode(self._lt.to_bytes(32, "big")).decode()
        t = transaction(tx_hash, self._lt, when, account, message(source, value, body, comment=comment,
                                                                   bounced=bounced, destination=account))
        t["out_msgs"] = list(outs)
        t["description"]["aborted"] = aborted
        self.transactions.setdefault(account, []).append(t)
        return t

    def _build(self) -> None:
        t = self.tx
        # Root: the owner registers a proxy (day -1) and changes the price on day 2 (20/19 -> 24/22).
        t(MAINNET_ROOT, at(-1, 6), ROOT_OWNER, G, op_body(0x927C7CB5), outs=[plain_out(ROOT_OWNER)])
        t(MAINNET_ROOT, at(2, 6), ROOT_OWNER, G,
          op_body(C.OP_ROOT_CHANGE_PRICE, tail=lambda b: b.store_coins(24).store_coins(22)),
          outs=[plain_out(ROOT_OWNER)])
        # The root owner's wallet deploys P1 and the foreign PF (out-messages).
        t(ROOT_OWNER, at(-1, 7), None, 0, None, outs=[plain_out(P1, 20 * G), plain_out(PF, 20 * G)])
        # O1 registers W3 (of P2) from its wallet: the only way to P2.
        t(O1, at(2, 12), None, 0, None, outs=[plain_out(W3, G)])
        t(W3, at(2, 12), O1, G, op_body(0x26ED7F65), outs=[plain_out(P2, G // 2)])  # owner_worker_register
        # ---- P1 (price 20, fee 19)
        # day 0: C1 tops up 10 TON (deposit), then is charged 1e8 tokens * 20 = 2 TON.
        t(P1, at(0, 10), C1, 10 * G, client_request(CO1, balance=10 * G, tokens=0,
                                                    payload_op=C.OP_CLIENT_PROXY_TOP_UP, coins=10 * G))
        t(P1, at(0, 12), C1, G // 10, client_request(CO1, balance=8 * G, tokens=100_000_000))
        # day 1: W1 paid 5e7 tokens * 19 = 0.95 TON (+0.05 commission); W2 3e7 * 19 = 0.57 (+0.03).
        t(P1, at(1, 9), W1, G // 5, worker_request(O1, 50_000_000, 950_000_000, 50_000_000),
          outs=[payout_out(O1, 950_000_000)])
        t(P1, at(1, 10), W2, G // 5, worker_request(O2, 30_000_000, 570_000_000, 30_000_000),
          outs=[payout_out(O2, 570_000_000)])
        # a wallet posing as a worker, and a plain transfer: not counted
        t(P1, at(1, 11), FW, G // 5, worker_request(FW, 10**9, 5 * G, 0), outs=[payout_out(FW, 5 * G)])
        t(P1, at(1, 12), DECOY, G, None)
        # day 2: C1 charged 4.5e8 * 20 = 9 TON but holds 8: charged 8 (update_balance), balance 0.
        t(P1, at(2, 8), C1, G // 10, client_request(CO1, balance=0, tokens=550_000_000))
        # W1 paid 1e8 * 19 = 1.9 (+0.1); the proxy owner withdraws 0.5 TON.
        t(P1, at(2, 9), W1, G // 5, worker_request(O1, 150_000_000, 1_900_000_000, 100_000_000),
          outs=[payout_out(O1, 1_900_000_000)])
        t(P1, at(2, 10), ROOT_OWNER, G, op_body(C.OP_EXT_PROXY_PAYOUT_REQUEST, tail=lambda b: b.store_address(ROOT_OWNER)),
          outs=[payout_out(ROOT_OWNER, G // 2)])
        # an aborted payout request (nothing paid)
        t(P1, at(2, 11), W2, G // 5, worker_request(O2, 60_000_000, 570_000_000, 30_000_000), aborted=True)
        # day 3: C1 tops up 3 TON then withdraws 2 (refund_granted, paid to CO1); a bounced message.
        t(P1, at(3, 9), C1, 3 * G, client_request(CO1, balance=3 * G, tokens=550_000_000,
                                                  payload_op=C.OP_CLIENT_PROXY_TOP_UP, coins=3 * G))
        t(P1, at(3, 10), C1, G // 10, client_request(CO1, balance=G, tokens=550_000_000,
                                                     payload_op=C.OP_CLIENT_PROXY_REFUND_GRANTED, coins=2 * G),
          outs=[payout_out(CO1, 2 * G)])
        t(P1, at(3, 11), W1, G // 5, worker_request(O1, 150_000_000, 1_900_000_000, 100_000_000), bounced=True)
        # ---- P2 (price 24, fee 22)
        # day 2: C2 tops up 5 TON; day 3: a grant-refund charges 1e8 * 24 = 2.4 TON and returns 2.6.
        t(P2, at(2, 14), C2, 5 * G, client_request(CO2, balance=5 * G, tokens=0,
                                                   payload_op=C.OP_CLIENT_PROXY_TOP_UP, coins=5 * G))
        t(P2, at(3, 15), C2, G // 10, client_request(CO2, balance=0, tokens=100_000_000,
                                                     payload_op=C.OP_CLIENT_PROXY_REFUND_GRANTED,
                                                     coins=2_600_000_000),
          outs=[payout_out(CO2, 2_600_000_000)])
        # day 3: W3 paid 1e8 * 22 = 2.2 (+0.2).
        t(P2, at(3, 16), W3, G // 5, worker_request(O1, 100_000_000, 2_200_000_000, 200_000_000),
          outs=[payout_out(O1, 2_200_000_000)])
        # ---- PF (foreign code): looks like a busy proxy, never read as one
        t(PF, at(1, 9), W1, G // 5, worker_request(O1, 10**9, 50 * G, 0), outs=[payout_out(O1, 50 * G)])
        # owners' wallets receive the payouts (their incoming side)
        t(O1, at(1, 9), P1, 950_000_000, op_body(C.OP_PAYOUT))
        t(O2, at(1, 10), P1, 570_000_000, op_body(C.OP_PAYOUT))
        t(CO1, at(0, 9), None, 0, None, outs=[plain_out(C1, 10 * G)])
        t(CO2, at(2, 13), None, 0, None, outs=[plain_out(C2, 5 * G)])
        # W1, W2, C1, C2 have their own transactions (signed requests from the owners' wallets)
        t(W1, at(1, 9), O1, G // 5, op_body(0xA040AD28), outs=[plain_out(P1, G // 5)])
        t(W2, at(1, 10), O2, G // 5, op_body(0xA040AD28), outs=[plain_out(P1, G // 5)])
        t(C1, at(0, 10), CO1, 10 * G, op_body(0xF172E6C2), outs=[plain_out(P1, 10 * G)])
        t(C2, at(2, 14), CO2, 5 * G, op_body(0xF172E6C2), outs=[plain_out(P2, 5 * G)])

    def add_day4(self) -> None:
        """A later payout (W2 on P1, 2e7 * 19 = 0.38 TON) and charge (C1 tops up 0 and is charged
        1e7 * 20 = 0.2 of its remaining 1 TON), for the incremental refresh."""
        self.tx(P1, at(4, 9), W2, G // 5, worker_request(O2, 50_000_000, 380_000_000, 20_000_000),
                outs=[payout_out(O2, 380_000_000)])
        self.tx(P1, at(4, 10), C1, G // 10, client_request(CO1, balance=800_000_000, tokens=560_000_000))


def _code_of_root() -> Cell:
    return begin_cell().store_uint(0x0C0C0, 20).end_cell()


def _account(data: Cell, *, code: Cell) -> dict[str, Any]:
    return {"balance": "5000000000", "code": b64(code), "data": b64(data), "last_transaction_lt": "1",
            "last_transaction_hash": "abc=", "frozen_hash": None, "status": "active"}


def network_handler(net: Network, *, faults: dict[str, list[str]] | None = None):
    """toncenter_handler plus a request log and injected faults.

    ``faults`` maps ``"<path>?<account raw>@<offset>"`` to a list of faults served in turn before
    the real answer: ``"429"`` (rate limited, Retry-After: 0) or ``"truncated"`` (a 200 whose JSON
    body is cut in half).
    """
    inner = toncenter_handler(net)
    pending = faults if faults is not None else {}  # consumed in place: tests check it emptied

    def handle(request: Request) -> Response:
        args = dict(request.args)
        net.log.append((request.path, args))
        key = None
        if request.path == "/api/v3/transactions":
            key = f"{request.path}?{Address(args['account']).to_str(is_user_friendly=False)}@{args.get('offset', '0')}"
        if key in pending and pending[key]:
            fault = pending[key].pop(0)
            if fault == "429":
                return Response(json.dumps({"error": "Ratelimit exceed"}), status=429,
                                headers={"Retry-After": "0"}, content_type="application/json")
            real = inner(request)
            body = real.get_data()
            return Response(body[: len(body) // 2], status=200, content_type="application/json")
        return inner(request)

    return handle
