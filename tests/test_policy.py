"""Shared mode and consent (interpret/policy.py), and the server settings the app ships with."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from interpret import limits
from interpret.errors import ModelLoadError
from interpret.policy import (
    CODE_SOURCES,
    CONSENT_LABEL,
    SHARED_ENV,
    CodeConsentRequired,
    SharedModeRefused,
    code_allowed,
    local_files_allowed,
    require_code_consent,
    shared_mode,
)

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


@pytest.mark.parametrize("value", ["", "0", "false", "No", " off "])
def test_shared_mode_is_off_unless_set(monkeypatch, value):
    monkeypatch.setenv(SHARED_ENV, value)
    assert not shared_mode() and local_files_allowed() and code_allowed()
    monkeypatch.delenv(SHARED_ENV)
    assert not shared_mode()


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "shared"])
def test_any_other_value_turns_shared_mode_on(monkeypatch, value):
    monkeypatch.setenv(SHARED_ENV, value)
    assert shared_mode() and not local_files_allowed() and not code_allowed()


def test_code_needs_consent_outside_shared_mode(monkeypatch):
    monkeypatch.delenv(SHARED_ENV, raising=False)
    with pytest.raises(CodeConsentRequired) as info:
        require_code_consent("torchscript", "net.pt", trust_code=False)
    assert isinstance(info.value, ModelLoadError)
    message = str(info.value)
    assert message.startswith("'net.pt' is a TorchScript file: its forward pass is a program")
    assert CONSENT_LABEL in message and "--trust-code" in message and "\n" not in message
    require_code_consent("torchscript", "net.pt", trust_code=True)  # consent given: no refusal


def test_shared_mode_refuses_code_whatever_the_consent(monkeypatch):
    monkeypatch.setenv(SHARED_ENV, "1")
    for trust in (False, True):
        with pytest.raises(SharedModeRefused, match="'net.pt' is a TorchScript file, and shared mode is on"):
            require_code_consent("torchscript", "net.pt", trust_code=trust)


def test_every_code_source_says_what_it_is_and_why():
    assert "torchscript" in CODE_SOURCES
    for kind, source in CODE_SOURCES.items():
        assert source.kind == kind and source.what and source.why
    with pytest.raises(KeyError):
        require_code_consent("not-a-kind", "x", trust_code=True)


def test_the_shipped_config_binds_loopback_and_sizes_uploads_from_limits():
    config = tomllib.loads(CONFIG.read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["maxUploadSize"] == limits.UPLOAD_MEGABYTES == limits.CHECKPOINT_BYTES // 2**20
    assert config["server"]["fileWatcherType"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
