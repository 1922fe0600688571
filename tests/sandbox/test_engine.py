"""Without a reachable engine the sandbox says so in one line, with what to do."""

from __future__ import annotations

import pytest

from sandbox import EngineUnavailable, Sandbox


def test_no_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(EngineUnavailable) as info, Sandbox():
        pass
    message = str(info.value)
    assert "\n" not in message
    assert "no Docker engine is reachable" in message and "dockerd" in message
