"""Shared fixtures. Area-specific fixtures live in their own test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (real public files); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (real-data checks need it)")
    return SHARED_DATA


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder, set through ``COCOON_ECON_CACHE`` for CLI runs too."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("COCOON_ECON_CACHE", str(cache))
    return cache
