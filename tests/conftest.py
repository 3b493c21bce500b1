"""Shared fixtures. Area-specific fixtures live in their own test modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the checkout (CI, main); COCOON_ECON_SHARED points elsewhere (e.g. from a worktree).
SHARED = Path(os.environ.get("COCOON_ECON_SHARED", REPO_ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
SHARED_REFERENCE = SHARED / "reference"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (real public files); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (real-data checks need it)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read or write the developer's data/cache (fetched prices, saved chain params)."""
    monkeypatch.setenv("COCOON_ECON_CACHE", str(tmp_path_factory.mktemp("empty-cache")))


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder, set through ``COCOON_ECON_CACHE`` for CLI runs too."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("COCOON_ECON_CACHE", str(cache))
    return cache


# --------------------------------------------------------------------------- live checks offline
# `pytest -m remote_data` without a network skips each live test with the reason, instead of
# failing on the first connection error (issue 13). One probe per run, bounded to a few seconds.
_REMOTE_PROBE_HOSTS = (("toncenter.com", 443), ("api.binance.com", 443))
_remote_reason: list[str | None] = []


def _network_reason() -> str | None:
    """None when a public API answers a TCP connect, else why not (cached for the run)."""
    if not _remote_reason:
        import socket

        reason = None
        for host, port in _REMOTE_PROBE_HOSTS:
            try:
                with socket.create_connection((host, port), timeout=3):
                    reason = None
                    break
            except OSError as exc:
                reason = f"no network: cannot reach {host}:{port} ({exc.__class__.__name__}: {exc})"
        _remote_reason.append(reason)
    return _remote_reason[0]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("remote_data") is not None:
        reason = _network_reason()
        if reason:
            pytest.skip(f"remote_data: {reason}")
