"""Builders for the on-chain tests: COCOON cells made with pytoniq-core exactly as the contracts
write them, and a loopback server speaking toncenter v3/v2 and tonapi.

Layouts (cited in analysis/onchain/contracts.py): contracts/utils.fc pack_cocoon_params and
pack_cocoon_root_data; wrappers/CocoonRoot.ts cocoonParamsToCell for struct versions 1-3; the
payout, worker-request and excesses messages of contracts/cocoon_proxy.fc and cocoon_worker.fc.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pytoniq_core import Address, Cell, begin_cell
from werkzeug import Request, Response

from analysis.chain import contracts as C

MAINNET_ROOT = Address(C.MAINNET_ROOT)


def addr(n: int) -> Address:
    """A distinct basechain address for test actor ``n``."""
    return Address((0, n.to_bytes(32, "big")))


OWNER = addr(0xA11CE)        # the worker owner's wallet
ROOT_OWNER = addr(0x0BEEF)


# A stand-in for the root's code: any cell, so the account state carries a real code BOC.
ROOT_CODE = begin_cell().store_uint(0xC0C0, 16).end_cell()


def b64(cell: Cell) -> str:
    return base64.b64encode(cell.to_boc()).decode()


def params_cell(struct_version: int = 4, *, params_version: int = 7, unique_id: int = 42, is_test: bool = False,
                price: int = 20, fee: int = 19, prompt: int = 10000, cached: int = 1000,
                completion: int = 80000, reasoning: int = 80000, proxy_delay: int = 3600,
                client_delay: int = 600, min_proxy_stake: int = 15 * 10**9, min_client_stake: int = 10**9,
                codes: tuple[Cell | None, Cell | None, Cell | None] = (None, None, None)) -> Cell:
    """A params cell in the layout of ``struct_version`` (0..4)."""
    b = (begin_cell().store_uint(struct_version, 8).store_uint(params_version, 32).store_uint(unique_id, 32)
         .store_bit_int(int(is_test)).store_coins(price).store_coins(fee))
    if struct_version >= 3:
        b = b.store_uint(prompt, 32).store_uint(cached, 32).store_uint(completion, 32).store_uint(reasoning, 32)
    elif struct_version == 2:
        b = b.store_uint(cached, 32).store_uint(reasoning, 32)
    b = b.store_uint(proxy_delay, 32).store_uint(client_delay, 32)
    if struct_version >= 1:
        b = b.store_coins(min_proxy_stake).store_coins(min_client_stake)
    for code in codes:
        b = b.store_maybe_ref(code)
    return b.end_cell()


def root_data_cell(params: Cell, *, owner: Address = ROOT_OWNER, version: int = 31) -> Cell:
    """The root's persistent data: pack_cocoon_root_data (key-manager ref from struct version 4)."""
    struct_version = params.begin_parse().load_uint(8)
    data = (begin_cell().store_dict(None).store_dict(None).store_uint(3, 32).store_dict(None).store_dict(None)
            .end_cell())
    b = begin_cell().store_address(owner).store_uint(version, 32).store_ref(data).store_ref(params)
    if struct_version >= 4:
        net = b"127.0.0.1:8443"
        key_manager = (begin_cell().store_dict(None).store_uint(0xABC, 256).store_uint(0xDEF, 256)
                       .store_uint(0, 1).store_uint(len(net), 7).store_bytes(net).end_cell())
        b = b.store_ref(key_manager)
    return b.end_cell()


def payout_body(query_id: int = 77) -> Cell:
    return begin_cell().store_uint(C.OP_PAYOUT, 32).store_uint(query_id, 64).end_cell()


def comment_body(text: str) -> Cell:
    return begin_cell().store_uint(0, 32).store_bytes(text.encode()).end_cell()


def excesses_body(query_id: int = 5) -> Cell:
    return begin_cell().store_uint(C.OP_EXCESSES, 32).store_uint(query_id, 64).end_cell()


def worker_request_body(owner: Address, worker_part: int | None, *, tokens: int = 5_000_000,
                        proxy_part: int = 0, query_id: int = 77, op: int = C.OP_WORKER_PROXY_REQUEST) -> Cell:
    """cocoon_worker.fc forward_message_to_proxy with a payout-request payload."""
    payload = None
    if worker_part is not None:
        payload = (begin_cell().store_uint(C.OP_WORKER_PROXY_PAYOUT_REQUEST, 32).store_coins(worker_part)
                   .store_coins(proxy_part).store_address(owner).end_cell())
    return (begin_cell().store_uint(op, 32).store_uint(query_id, 64).store_address(owner).store_uint(0, 2)
            .store_uint(tokens, 64).store_maybe_ref(payload).end_cell())


def client_request_body(owner: Address, query_id: int = 9) -> Cell:
    state = begin_cell().store_uint(0, 8).end_cell()
    return (begin_cell().store_uint(C.OP_CLIENT_PROXY_REQUEST, 32).store_uint(query_id, 64).store_address(owner)
            .store_ref(state).store_maybe_ref(None).end_cell())


def num(value: int) -> dict[str, str]:
    return {"type": "num", "value": hex(value) if value >= 0 else "-" + hex(-value)}


def slice_of(address: Address) -> dict[str, str]:
    return {"type": "slice", "value": b64(begin_cell().store_address(address).end_cell())}


def proxy_data_stack(root: Address, *, fee: int = 19, price: int = 20, owner: Address = addr(0xF00)) -> list[dict]:
    """get_cocoon_proxy_data in toncenter v3's stack format (contracts/cocoon_proxy.fc)."""
    return [slice_of(owner), num(0x1234), slice_of(root), num(0), num(5 * 10**9), num(15 * 10**9), num(0),
            num(price), num(fee), num(15 * 10**9), num(10**9), num(7)]


def cur_params_stack(p: dict[str, Any]) -> list[dict]:
    """get_cur_params (contracts/cocoon_root.fc) for the given field values."""
    order = C.CUR_PARAMS_FIELDS
    return [num(int(p.get(k) or 0)) for k in order]


_MSG_COUNTER = iter(range(1, 10**9))


def message(source: Address | None, value: int, body: Cell | None, *, comment: str | None = None,
            bounced: bool = False, destination: Address = OWNER) -> dict[str, Any]:
    """An in_msg as toncenter v3 serialises it (raw upper-case addresses, string nanoTON, hex opcode)."""
    opcode = None
    if body is not None:
        cs = body.begin_parse()
        opcode = f"0x{cs.load_uint(32):08x}" if cs.remaining_bits >= 32 else None
    decoded = {"type": "text_comment", "comment": comment} if comment is not None else None
    return {
        "hash": base64.b64encode(next(_MSG_COUNTER).to_bytes(32, "big")).decode(),
        "source": source.to_str(is_user_friendly=False).upper() if source else None,
        "destination": destination.to_str(is_user_friendly=False).upper(),
        "value": str(value), "fwd_fee": "266669", "ihr_fee": "0", "created_lt": "1", "created_at": "1",
        "opcode": opcode, "ihr_disabled": True, "bounce": False, "bounced": bounced, "import_fee": None,
        "message_content": {"hash": "x", "body": b64(body) if body is not None else None, "decoded": decoded},
        "init_state": None,
    }


def transaction(tx_hash: str, lt: int, now: int, account: Address, in_msg: dict | None) -> dict[str, Any]:
    return {
        "account": account.to_str(is_user_friendly=False).upper(), "hash": tx_hash, "lt": str(lt), "now": now,
        "mc_block_seqno": 1, "trace_id": tx_hash, "prev_trans_hash": "", "prev_trans_lt": "0",
        "orig_status": "active", "end_status": "active", "total_fees": "100000",
        "description": {"type": "ord", "aborted": False, "destroyed": False, "credit_first": True},
        "block_ref": {"workchain": 0, "shard": "8000000000000000", "seqno": 1},
        "in_msg": in_msg, "out_msgs": [], "account_state_before": None, "account_state_after": None,
    }


@dataclass
class FakeTon:
    """The state a loopback toncenter/tonapi serves."""

    accounts: dict[Address, dict[str, Any]] = field(default_factory=dict)     # v3 addressInformation bodies
    methods: dict[tuple[Address, str], dict[str, Any]] = field(default_factory=dict)  # runGetMethod bodies
    transactions: dict[Address, list[dict[str, Any]]] = field(default_factory=dict)
    parents: dict[str, dict[str, Any]] = field(default_factory=dict)          # tx hash -> parent tx

    def add_root(self, params: Cell, root: Address = MAINNET_ROOT) -> Cell:
        data = root_data_cell(params)
        self.accounts[root] = {"balance": "5000000000", "code": b64(ROOT_CODE), "data": b64(data),
                               "last_transaction_lt": "61000000000001", "last_transaction_hash": "abc=",
                               "frozen_hash": None, "status": "active"}
        return data


def _address_arg(text: str) -> Address:
    return Address(text)


def toncenter_handler(fake: FakeTon):
    """A werkzeug handler speaking the toncenter endpoints the package uses."""

    def handle(request: Request) -> Response:
        path = request.path
        if path == "/api/v3/addressInformation":
            body = fake.accounts.get(_address_arg(request.args["address"]))
            if body is None:
                return _json({"balance": "0", "code": None, "data": None, "last_transaction_lt": None,
                              "last_transaction_hash": None, "frozen_hash": None, "status": "uninit"})
            return _json(body)
        if path == "/api/v2/getAddressInformation":
            body = fake.accounts[_address_arg(request.args["address"])]
            return _json({"ok": True, "result": {
                "@type": "raw.fullAccountState", "balance": body["balance"], "code": body["code"],
                "data": body["data"], "last_transaction_id": {"@type": "internal.transactionId",
                                                              "lt": body["last_transaction_lt"], "hash": "abc="},
                "block_id": {}, "frozen_hash": "", "sync_utime": 1, "@extra": "1:2", "state": body["status"]}})
        if path == "/api/v3/runGetMethod":
            req = json.loads(request.data)
            result = fake.methods.get((_address_arg(req["address"]), req["method"]))
            if result is None:
                return _json({"gas_used": 500, "exit_code": 11, "stack": []})
            return _json({"gas_used": 2000, "exit_code": 0, **result})
        if path == "/api/v3/transactions":
            txs = fake.transactions.get(_address_arg(request.args["account"]), [])
            start = int(request.args.get("start_utime", 0))
            end = int(request.args.get("end_utime", 2**40))
            start_lt = int(request.args.get("start_lt", 0))
            txs = sorted((t for t in txs if start <= t["now"] <= end and int(t["lt"]) >= start_lt),
                         key=lambda t: int(t["lt"]),
                         reverse=request.args.get("sort", "desc") == "desc")
            offset, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 10))
            return _json({"transactions": txs[offset:offset + limit], "address_book": {}})
        if path == "/api/v3/adjacentTransactions":
            parent = fake.parents.get(request.args["hash"])
            if parent is None or request.args.get("direction") != "in":
                return _json({"error": "adjacent transactions not found"}, 404)
            return _json({"transactions": [parent], "address_book": {}})
        return _json({"error": f"no such route {path}"}, 404)

    return handle


_TONAPI_ACCOUNT = re.compile(r"^/v2/blockchain/accounts/([^/]+)(?:/methods/([^/]+))?$")


def tonapi_handler(fake: FakeTon):
    """A werkzeug handler speaking tonapi's blockchain endpoints (hex BOCs, 0x nums)."""

    def handle(request: Request) -> Response:
        match = _TONAPI_ACCOUNT.match(request.path)
        if not match:
            return _json({"error": "not found"}, 404)
        address = _address_arg(match.group(1))
        if match.group(2) is None:
            body = fake.accounts.get(address)
            if body is None:
                return _json({"error": "entity not found"}, 404)
            data = Cell.one_from_boc(base64.b64decode(body["data"])).to_boc().hex()
            return _json({"address": address.to_str(is_user_friendly=False), "balance": int(body["balance"]),
                          "code": "b5ee9c72", "data": data, "last_transaction_lt": int(body["last_transaction_lt"]),
                          "last_transaction_hash": "ab", "status": "active",
                          "storage": {"used_cells": 1, "used_bits": 1, "used_public_cells": 0, "last_paid": 1,
                                      "due_payment": 0}})
        result = fake.methods.get((address, match.group(2)))
        if result is None:
            return _json({"success": False, "exit_code": 11, "stack": []})
        stack = []
        for entry in result["stack"]:
            if entry["type"] == "num":
                stack.append({"type": "num", "num": entry["value"]})
            else:
                stack.append({"type": "cell", "cell": Cell.one_from_boc(base64.b64decode(entry["value"])).to_boc().hex()})
        return _json({"success": True, "exit_code": 0, "stack": stack, "decoded": None})

    return handle


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
