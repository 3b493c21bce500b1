"""tonapi over real HTTP against a loopback server speaking its formats (hex BOCs, 0x numbers)."""

from __future__ import annotations

import re

import pytest
from chain_builders import MAINNET_ROOT, FakeTon, addr, cur_params_stack, params_cell, tonapi_handler
from werkzeug import Response

from analysis.chain import contracts as C
from analysis.chain import readings as chain
from analysis.core.errors import FetchError
from analysis.sources import tonapi
from analysis.sources.http import HttpError
from analysis.sources.toncenter import GetMethodError

KEY = "tonapi-secret"


@pytest.fixture
def fake(httpserver):
    state = FakeTon()
    httpserver.expect_request(re.compile(r"^/v2/.*")).respond_with_handler(tonapi_handler(state))
    return state


def client(httpserver, **kwargs):
    options = {"api_key": "", "min_interval_s": 0.0, "backoff_s": 0.01, "timeout_s": 5.0, **kwargs}
    return tonapi.tonapi_client(httpserver.url_for("/"), **options)


def test_root_params_via_tonapi_with_cross_check(httpserver, fake):
    params = params_cell(4, price=24, fee=22)
    fake.add_root(params)
    fake.methods[(MAINNET_ROOT, "get_cur_params")] = {"stack": cur_params_stack(C.parse_params_cell(params))}
    got, meta = chain.read_root_params(api="tonapi", client=client(httpserver, api_key=KEY))
    assert (got.price_per_token, got.worker_fee_per_token, got.struct_version) == (24, 22, 4)
    assert meta["cross_check"]["agrees"] is True and meta["source"] == "tonapi v2"
    paths = [r.path for r, _ in httpserver.log]
    raw = MAINNET_ROOT.to_str(is_user_friendly=False)
    assert paths == [f"/v2/blockchain/accounts/{raw}", f"/v2/blockchain/accounts/{raw}/methods/get_cur_params"]
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r, _ in httpserver.log)


def test_struct_version_2_via_tonapi(httpserver, fake):
    fake.add_root(params_cell(2, cached=1000, reasoning=70000))
    got, _ = chain.read_root_params(api="tonapi", client=client(httpserver), check=False)
    assert got.prompt_tokens_price_multiplier == 10000 and got.cached_tokens_price_multiplier == 1000


def test_failed_get_method_and_unknown_account(httpserver, fake):
    with pytest.raises(GetMethodError):
        tonapi.run_tonapi_get_method(addr(3), "get_cur_params", client=client(httpserver))
    with pytest.raises(HttpError, match="entity not found") as err:
        tonapi.get_tonapi_account_state(addr(3), client=client(httpserver))
    assert err.value.status_code == 404


def test_429_retry_after(httpserver, fake):
    fake.add_root(params_cell(4))
    raw = MAINNET_ROOT.to_str(is_user_friendly=False)
    httpserver.expect_oneshot_request(f"/v2/blockchain/accounts/{raw}").respond_with_response(
        Response('{"error": "rate limit: free tier 1 rps"}', status=429, headers={"Retry-After": "1"},
                 content_type="application/json"))
    http = client(httpserver)
    waits: list[float] = []
    http.sleep = waits.append
    state, _ = tonapi.get_tonapi_account_state(MAINNET_ROOT, client=http)
    assert state["status"] == "active" and waits == [1.0]


def test_keyless_tonapi_waits_four_seconds(monkeypatch):
    monkeypatch.delenv(tonapi.API_KEY_ENV, raising=False)
    assert tonapi.tonapi_client().min_interval_s == 4.0


def test_unexpected_payload_is_a_fetch_error():
    with pytest.raises(FetchError, match="unexpected raw account"):
        tonapi.parse_tonapi_account_state({"error": "x"})
    with pytest.raises(FetchError, match="not a valid bag of cells"):
        tonapi.parse_tonapi_account_state({"balance": 1, "status": "active", "data": "b5ee9c72zz"})
