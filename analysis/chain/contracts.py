"""COCOON's contract layouts, read with :mod:`pytoniq_core` exactly as the contracts write them.

Sources (COCOON's own code; the public mirrors named here carry the same files):

- Root storage and the params cell: ``TelegramMessenger/cocoon-contracts`` ``contracts/utils.fc``,
  ``pack_cocoon_root_data`` / ``pack_cocoon_params`` (mirror ``AlphaCompute/cocoon-contracts@86fe8ab``):
  root cell = owner ``MsgAddress``, ``version`` u32, ``^data``, ``^params`` and, from params struct
  version 4, ``^public_keys_manager_data``; params = ``struct_version`` u8, ``params_version`` u32,
  ``unique_id`` u32, ``is_test`` u1, ``price_per_token`` Coins, ``worker_fee_per_token`` Coins, the
  prompt / cached / completion / reasoning price multipliers u32 each (1/10000), ``proxy`` and
  ``client_delay_before_close`` u32, ``min_proxy_stake`` and ``min_client_stake`` Coins, then three
  ``Maybe ^Cell`` contract codes (proxy, worker, client).
- Older params struct versions, as COCOON's runner reads them:
  ``TelegramMessenger/cocoon`` ``runners/smartcontracts/RootContractConfig.cpp``,
  ``RootContractConfig::load_from_state`` (mirror ``AlphaTONCapital/cocoon@0831e3f``): the prompt and
  completion multipliers exist from struct version 3, the cached and reasoning multipliers from
  version 2 (each defaults to 10000 = 1.0x when absent), the minimum stakes from version 1
  (default 1 TON), and the key-manager reference from version 4; versions above 4 are rejected.
  The TypeScript wrapper ``wrappers/CocoonRoot.ts`` ``cocoonParamsToCell`` writes the same layouts.
- Opcodes: ``contracts/opcodes.fc`` and ``messages.tlb`` (``cocoon_payout#c59a7cd3 query_id:uint64``,
  ``cocoon_worker_proxy_request#4d725d2c query_id:uint64 owner_address:MsgAddress state:uint2
  tokens:uint64 payload:(Maybe ^Cell)``, ``cocoon_worker_proxy_payout_request#08e7d036
  worker_part:Coins proxy_part:Coins send_excesses_to:MsgAddress``).
- Get-methods: ``contracts/cocoon_root.fc`` ``get_cur_params`` and ``contracts/cocoon_proxy.fc``
  ``get_cocoon_proxy_data`` (return orders in :func:`parse_cur_params_stack` and
  :func:`parse_proxy_data_stack`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytoniq_core import Address, Cell, ExternalAddress, Slice

from analysis.core.errors import DataError

# Mainnet root contract, from COCOON's worker configuration example
# (TelegramMessenger/cocoon scripts/dist-worker/worker.conf.example).
MAINNET_ROOT = "EQCns7bYSp0igFvS1wpb5wsZjCKCV19MD5AVzI4EyxsnU73k"

# contracts/opcodes.fc
OP_PAYOUT = 0xC59A7CD3                   # op::payout: proxy -> worker owner / client owner / proxy owner
OP_EXCESSES = 0x2565934C                 # op::excesses: gas returned (send_excesses_to)
OP_WORKER_PROXY_REQUEST = 0x4D725D2C     # op::worker_proxy_request: worker contract -> proxy
OP_WORKER_PROXY_PAYOUT_REQUEST = 0x08E7D036  # payload of the above when the worker asks to be paid
OP_CLIENT_PROXY_REQUEST = 0x65448FF4     # op::client_proxy_request: client contract -> proxy (refunds)
OP_EXT_PROXY_PAYOUT_REQUEST = 0x7610E6EB  # proxy owner withdraws the proxy's earnings

# RootContractConfig::load_from_state defaults for fields older struct versions lack.
DEFAULT_MULTIPLIER = 10000               # 1/10000 units: 10000 = 1.0x
DEFAULT_MIN_STAKE_NANOTON = 1_000_000_000  # to_nano(1.0)
MAX_STRUCT_VERSION = 4                   # the runner rejects anything newer



@dataclass(frozen=True)
class RootParams:
    """COCOON's network parameters as stored in the root contract.

    Token prices are nanoTON per adjusted token; multipliers are in 1/10000 (10000 = 1.0x);
    stakes in nanoTON; delays in seconds.
    """

    owner: str
    version: int
    struct_version: int
    params_version: int
    unique_id: int
    is_test: bool
    price_per_token: int
    worker_fee_per_token: int
    prompt_tokens_price_multiplier: int
    cached_tokens_price_multiplier: int
    completion_tokens_price_multiplier: int
    reasoning_tokens_price_multiplier: int
    proxy_delay_before_close: int
    client_delay_before_close: int
    min_proxy_stake: int
    min_client_stake: int
    proxy_sc_code_hash: str | None = None
    worker_sc_code_hash: str | None = None
    client_sc_code_hash: str | None = None
    defaulted: tuple[str, ...] = field(default=())  # fields absent in this struct version

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-friendly)."""
        out = asdict(self)
        out["defaulted"] = list(self.defaulted)
        return out


# (parameter, unit, note) for the tidy table: the same vocabulary as data/reference/network_parameters.csv.
PARAMETER_UNITS: dict[str, tuple[str, str]] = {
    "price_per_token": ("nanoTON per adjusted token", "client pays this"),
    "worker_fee_per_token": ("nanoTON per adjusted token", "worker receives this"),
    "prompt_tokens_price_multiplier": ("1/10000", "uncached prompt tokens"),
    "cached_tokens_price_multiplier": ("1/10000", "cached prompt tokens"),
    "completion_tokens_price_multiplier": ("1/10000", "non-reasoning completion tokens"),
    "reasoning_tokens_price_multiplier": ("1/10000", "reasoning tokens"),
    "proxy_delay_before_close": ("s", ""),
    "client_delay_before_close": ("s", ""),
    "min_proxy_stake": ("nanoTON", ""),
    "min_client_stake": ("nanoTON", ""),
    "params_version": ("count", "bumped by every parameter change"),
    "struct_version": ("count", "layout version of the params cell"),
    "unique_id": ("id", ""),
    "is_test": ("bool", ""),
    "version": ("count", "root contract data version"),
}


def _fail(what: str, exc: Exception | None = None) -> DataError:
    detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    return DataError(f"COCOON root contract data: {what}{detail}; the contract layout may have changed, "
                     "check for a newer cocoon-econ")


def parse_params_cell(cell: Cell) -> dict[str, Any]:
    """Parse a COCOON params cell (any struct version 0..4).

    Returns a dict with every field of :class:`RootParams` except ``owner`` and ``version``.
    Fields an older struct version lacks take the runner's defaults and are listed under
    ``defaulted``.
    """
    try:
        cs = cell.begin_parse()
        struct_version = cs.load_uint(8)
        if struct_version > MAX_STRUCT_VERSION:
            raise _fail(f"unexpected params struct version {struct_version} "
                        f"(known: 0..{MAX_STRUCT_VERSION})")
        out: dict[str, Any] = {"struct_version": struct_version}
        defaulted: list[str] = []
        out["params_version"] = cs.load_uint(32)
        out["unique_id"] = cs.load_uint(32)
        out["is_test"] = bool(cs.load_uint(1))
        out["price_per_token"] = cs.load_coins()
        out["worker_fee_per_token"] = cs.load_coins()
        # Field order of the multipliers: prompt, cached, completion, reasoning; prompt and
        # completion only from version 3, cached and reasoning from version 2.
        for name, since in (("prompt_tokens_price_multiplier", 3), ("cached_tokens_price_multiplier", 2),
                            ("completion_tokens_price_multiplier", 3), ("reasoning_tokens_price_multiplier", 2)):
            if struct_version >= since:
                out[name] = cs.load_uint(32)
            else:
                out[name] = DEFAULT_MULTIPLIER
                defaulted.append(name)
        out["proxy_delay_before_close"] = cs.load_uint(32)
        out["client_delay_before_close"] = cs.load_uint(32)
        for name in ("min_proxy_stake", "min_client_stake"):
            if struct_version >= 1:
                out[name] = cs.load_coins()
            else:
                out[name] = DEFAULT_MIN_STAKE_NANOTON
                defaulted.append(name)
        for name in ("proxy_sc_code_hash", "worker_sc_code_hash", "client_sc_code_hash"):
            code = cs.load_maybe_ref()
            out[name] = code.hash.hex() if code is not None else None
        if cs.remaining_bits or cs.remaining_refs:
            raise _fail(f"{cs.remaining_bits} bits and {cs.remaining_refs} refs left over in the params cell")
    except DataError:
        raise
    except Exception as exc:  # pytoniq raises plain exceptions on short reads
        raise _fail("the params cell is shorter than its struct version says", exc) from None
    out["defaulted"] = tuple(defaulted)
    return out


def parse_root_data(cell: Cell) -> RootParams:
    """Parse the root contract's persistent data cell into :class:`RootParams`."""
    try:
        cs = cell.begin_parse()
        owner = cs.load_address()
        version = cs.load_uint(32)
        if cs.remaining_refs < 2:
            raise _fail(f"expected references to data and params, found {cs.remaining_refs}")
        cs.load_ref()  # data: proxy/worker/model hashes and registered proxies (not needed here)
        params_cell = cs.load_ref()
    except DataError:
        raise
    except Exception as exc:
        raise _fail("cannot read owner, version and references", exc) from None
    params = parse_params_cell(params_cell)
    expected_refs = 1 if params["struct_version"] >= 4 else 0  # ^public_keys_manager_data
    if cs.remaining_refs != expected_refs or cs.remaining_bits:
        raise _fail(f"struct version {params['struct_version']} expects {expected_refs} more reference(s), "
                    f"found {cs.remaining_refs} refs and {cs.remaining_bits} bits")
    return RootParams(owner=owner.to_str() if owner is not None else "", version=version, **params)


# get_cur_params (contracts/cocoon_root.fc) returns, in order:
CUR_PARAMS_FIELDS = (
    "params_version", "unique_id", "is_test", "price_per_token", "worker_fee_per_token",
    "cached_tokens_price_multiplier", "reasoning_tokens_price_multiplier",
    "proxy_delay_before_close", "client_delay_before_close", "min_proxy_stake", "min_client_stake",
    "proxy_sc_code_hash", "worker_sc_code_hash", "client_sc_code_hash",
)


def parse_cur_params_stack(stack: Sequence[Any]) -> dict[str, Any]:
    """Name the 14 values ``get_cur_params`` returns (it has no prompt/completion multipliers).

    Code hashes are 0 when the code is absent (``slice_hash`` of the code cell otherwise,
    which equals the cell's representation hash).
    """
    if len(stack) < len(CUR_PARAMS_FIELDS) or not all(isinstance(v, int) for v in stack[:14]):
        raise DataError(f"get_cur_params: expected {len(CUR_PARAMS_FIELDS)} integers, got {stack!r:.200}")
    out = dict(zip(CUR_PARAMS_FIELDS, stack))
    out["is_test"] = bool(out["is_test"])  # FunC true is -1
    for name in ("proxy_sc_code_hash", "worker_sc_code_hash", "client_sc_code_hash"):
        out[name] = f"{out[name]:064x}" if out[name] else None
    return out


def cross_check(state: RootParams, cur: dict[str, Any]) -> list[str]:
    """Fields where the parsed state and ``get_cur_params`` disagree (empty: they agree)."""
    mine = state.as_dict()
    return [f"{k}: state {mine[k]!r} vs get_cur_params {v!r}" for k, v in cur.items() if mine.get(k) != v]


@dataclass(frozen=True)
class ProxyData:
    """What ``get_cocoon_proxy_data`` returns (contracts/cocoon_proxy.fc)."""

    owner: Address | None
    root: Address | None
    state: int
    price_per_token: int
    worker_fee_per_token: int
    params_version: int


def _address_of(value: Any) -> Address | None:
    if isinstance(value, Cell):
        return value.begin_parse().load_address()
    raise DataError(f"expected an address slice on the stack, got {type(value).__name__}")


def parse_proxy_data_stack(stack: Sequence[Any]) -> ProxyData:
    """Read ``get_cocoon_proxy_data``'s 12 values: (owner_address, proxy_public_key, root_address,
    state, balance, stake, unlock_ts, price_per_token, worker_fee_per_token, min_proxy_stake,
    min_client_stake, params_version)."""
    if len(stack) < 12:
        raise DataError(f"get_cocoon_proxy_data: expected 12 values, got {len(stack)}")
    try:
        return ProxyData(owner=_address_of(stack[0]), root=_address_of(stack[2]), state=int(stack[3]),
                         price_per_token=int(stack[7]), worker_fee_per_token=int(stack[8]),
                         params_version=int(stack[11]))
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"get_cocoon_proxy_data: unreadable stack ({type(exc).__name__}: {exc})") from None


def parse_payout_body(body: Cell | None) -> int | None:
    """``query_id`` of a ``cocoon_payout#c59a7cd3 query_id:uint64`` body, else None."""
    if body is None:
        return None
    try:
        cs = body.begin_parse()
        if cs.remaining_bits < 96 or cs.load_uint(32) != OP_PAYOUT:
            return None
        return cs.load_uint(64)
    except Exception:
        return None


@dataclass(frozen=True)
class WorkerProxyRequest:
    """A ``cocoon_worker_proxy_request`` body (worker contract -> proxy)."""

    query_id: int
    owner: Address | ExternalAddress | None   # what a MsgAddress field can hold (the contract writes an internal one)
    state: int
    tokens: int                      # the worker's cumulative adjusted tokens after this request
    worker_part: int | None = None   # nanoTON, when the payload is a payout request
    proxy_part: int | None = None


def parse_worker_proxy_request(body: Cell | None) -> WorkerProxyRequest | None:
    """Parse a ``cocoon_worker_proxy_request#4d725d2c`` body; None if it is something else."""
    if body is None:
        return None
    try:
        cs: Slice = body.begin_parse()
        if cs.load_uint(32) != OP_WORKER_PROXY_REQUEST:
            return None
        query_id = cs.load_uint(64)
        owner = cs.load_address()
        state = cs.load_uint(2)
        tokens = cs.load_uint(64)
        payload = cs.load_maybe_ref()
        worker_part = proxy_part = None
        if payload is not None:
            ps = payload.begin_parse()
            if ps.load_uint(32) == OP_WORKER_PROXY_PAYOUT_REQUEST:
                worker_part = ps.load_coins()
                proxy_part = ps.load_coins()
        return WorkerProxyRequest(query_id, owner, state, tokens, worker_part, proxy_part)
    except Exception:
        return None


# ----------------------------------------------------------------------------- network-wide layouts
# Opcodes from TelegramMessenger/cocoon runners/smartcontracts/Opcodes.hpp (the same values as
# cocoon-contracts contracts/opcodes.fc; root_change_params is only in the latter).
OP_DO_NOT_PROCESS = 0x9A1247C0
OP_CLIENT_PROXY_TOP_UP = 0x5CFC6B87
OP_CLIENT_PROXY_REGISTER = 0xA35CB580
OP_CLIENT_PROXY_REFUND_GRANTED = 0xC68EBC7B
OP_CLIENT_PROXY_REFUND_FORCE = 0xF4C354C9
OP_EXT_CLIENT_CHARGE_SIGNED = 0xBB63FF93        # proxy-signed charge, sent to the client contract
OP_EXT_CLIENT_GRANT_REFUND_SIGNED = 0xEFD711E1  # last charge + refund, sent to the client contract
OP_EXT_WORKER_PAYOUT_REQUEST_SIGNED = 0xA040AD28
OP_EXT_WORKER_LAST_PAYOUT_REQUEST_SIGNED = 0xF5F26A36
OP_OWNER_PROXY_CLOSE = 0xB51D5A01
OP_EXT_PROXY_CLOSE_REQUEST_SIGNED = 0x636A4391
OP_EXT_PROXY_CLOSE_COMPLETE_REQUEST_SIGNED = 0xE511ABC7
OP_ROOT_CHANGE_PRICE = 0xC52ED8D4               # price_per_token:Coins worker_fee_per_token:Coins
OP_ROOT_CHANGE_PARAMS = 0x022FA189              # + delays u32 u32, min stakes Coins Coins
OP_ROOT_UPGRADE_CONTRACTS = 0xA2370F61          # new proxy/worker/client code (^ ^ ^)
# The proxy opcodes that pay the proxy's owner (cocoon_proxy.fc: ext_proxy_payout_request pays
# out ``balance``; the close forms pay ``balance + stake`` on the second step).
PROXY_OWNER_WITHDRAWAL_OPS = frozenset({OP_EXT_PROXY_PAYOUT_REQUEST, OP_OWNER_PROXY_CLOSE,
                                        OP_EXT_PROXY_CLOSE_REQUEST_SIGNED,
                                        OP_EXT_PROXY_CLOSE_COMPLETE_REQUEST_SIGNED})


@dataclass(frozen=True)
class ClientProxyRequest:
    """A ``client_proxy_request#65448ff4`` body (client contract -> proxy).

    cocoon_client.fc ``forward_message_to_proxy``: op u32, query_id u64, owner ``MsgAddress``,
    ^[state u2, balance Coins, stake Coins, tokens_used u64, secret_hash u256], ``Maybe ^payload``;
    the payload is ``client_proxy_top_up#5cfc6b87 coins:Coins send_excesses_to:MsgAddress``,
    ``client_proxy_register#a35cb580 nonce:u64``, ``client_proxy_refund_granted#c68ebc7b`` or
    ``client_proxy_refund_force#f4c354c9`` (``coins:Coins send_excesses_to:MsgAddress``); the Tolk
    sources (contracts_tolk/messages.tolk ``ClientProxyRequest``, ``ClientStateData``) agree. Every
    change of a client's state is forwarded this way, so the proxy's history holds them all.
    """

    query_id: int
    owner: Address | None
    state: int
    balance: int          # nanoTON left on the client's account after this change
    stake: int
    tokens_used: int      # cumulative adjusted tokens charged so far
    payload_op: int | None = None
    payload_coins: int | None = None


def parse_client_proxy_request(body: Cell | None) -> ClientProxyRequest | None:
    """Parse a ``client_proxy_request`` body; None if it is something else or malformed."""
    if body is None:
        return None
    try:
        cs = body.begin_parse()
        if cs.load_uint(32) != OP_CLIENT_PROXY_REQUEST:
            return None
        query_id = cs.load_uint(64)
        owner = cs.load_address()
        ss = cs.load_ref().begin_parse()
        state, balance, stake, tokens_used = ss.load_uint(2), ss.load_coins(), ss.load_coins(), ss.load_uint(64)
        payload = cs.load_maybe_ref()
        payload_op = coins = None
        if payload is not None:
            ps = payload.begin_parse()
            payload_op = ps.load_uint(32)
            if payload_op in (OP_CLIENT_PROXY_TOP_UP, OP_CLIENT_PROXY_REFUND_GRANTED, OP_CLIENT_PROXY_REFUND_FORCE):
                coins = ps.load_coins()
        return ClientProxyRequest(query_id, owner, state, balance or 0, stake or 0, tokens_used, payload_op, coins)
    except Exception:
        return None


@dataclass(frozen=True)
class ProxyState:
    """A proxy contract's persistent data (cocoon_proxy.fc ``pack_cocoon_proxy_data``; the
    runner's ``ProxyContract::init_data_cell``): owner, public key u256, root, state u2, balance
    and stake Coins, unlock_ts u32, ^params (the root's params without the code cells)."""

    owner: Address | None
    root: Address | None
    state: int
    balance: int
    stake: int
    price_per_token: int
    worker_fee_per_token: int
    params_version: int


def parse_proxy_data(cell: Cell) -> ProxyState:
    """Read a proxy's data cell; DataError when it is not the proxy layout."""
    try:
        cs = cell.begin_parse()
        owner = cs.load_address()
        cs.skip_bits(256)
        root = cs.load_address()
        state, balance, stake = cs.load_uint(2), cs.load_coins(), cs.load_coins()
        cs.load_uint(32)  # unlock_ts
        params = parse_params_cell(cs.load_ref())
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"COCOON proxy data: unreadable ({type(exc).__name__}: {exc})") from None
    return ProxyState(owner, root, state, balance or 0, stake or 0, params["price_per_token"],
                      params["worker_fee_per_token"], params["params_version"])


def parse_worker_data(cell: Cell) -> tuple[Address | None, Address | None, int, int]:
    """A worker contract's (owner, proxy, state, tokens) from its data cell (cocoon_worker.fc
    ``pack_cocoon_worker_data``; ``WorkerContract::init_data_cell``: owner, proxy, proxy public
    key u256, state u2, tokens u64, ^params)."""
    try:
        cs = cell.begin_parse()
        owner, proxy = cs.load_address(), cs.load_address()
        cs.skip_bits(256)
        return owner, proxy, cs.load_uint(2), cs.load_uint(64)
    except Exception as exc:
        raise DataError(f"COCOON worker data: unreadable ({type(exc).__name__}: {exc})") from None


def root_code_cells(data: Cell) -> dict[str, Cell | None]:
    """The proxy, worker and client code cells the root holds (the three ``Maybe ^Cell`` at the
    end of its params cell; ``RootContractConfig::load_from_state``)."""
    parse_root_data(data)  # validates the whole layout first
    cs = data.begin_parse()
    cs.load_address()
    cs.load_uint(32)
    cs.load_ref()
    params = cs.load_ref()
    ps = params.begin_parse()
    version = ps.load_uint(8)
    ps.skip_bits(8 + 32 + 32 + 1 - 8)
    ps.load_coins()
    ps.load_coins()
    ps.skip_bits(32 * (4 if version >= 3 else 2 if version == 2 else 0) + 64)
    if version >= 1:
        ps.load_coins()
        ps.load_coins()
    return {kind: ps.load_maybe_ref() for kind in ("proxy", "worker", "client")}


def parse_root_price_change(body: Cell | None) -> tuple[int, int, int] | None:
    """``(opcode, price_per_token, worker_fee_per_token)`` of a root ``root_change_price`` or
    ``root_change_params`` body (cocoon_root.fc: op u32, query_id u64, then ``price_per_token``
    and ``worker_fee_per_token`` as Coins); None for anything else."""
    if body is None:
        return None
    try:
        cs = body.begin_parse()
        op = cs.load_uint(32)
        if op not in (OP_ROOT_CHANGE_PRICE, OP_ROOT_CHANGE_PARAMS):
            return None
        cs.load_uint(64)
        return op, cs.load_coins() or 0, cs.load_coins() or 0
    except Exception:
        return None


def parse_root_upgrade_contracts(body: Cell | None) -> dict[str, Cell] | None:
    """The proxy, worker and client code cells a ``root_upgrade_contracts#a2370f61`` body sets
    (cocoon_root.fc: op u32, query_id u64, ^proxy_code, ^worker_code, ^client_code); None for
    anything else."""
    if body is None:
        return None
    try:
        cs = body.begin_parse()
        if cs.load_uint(32) != OP_ROOT_UPGRADE_CONTRACTS or cs.remaining_refs != 3:
            return None
        cs.load_uint(64)
        return {kind: cs.load_ref() for kind in ("proxy", "worker", "client")}
    except Exception:
        return None
