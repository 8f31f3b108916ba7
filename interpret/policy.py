"""Who may do what: shared mode, and consent for model files that are code.

The app is a local tool by default (it binds 127.0.0.1). Served to others on purpose, it runs in
**shared mode**, one setting: the environment variable `INTERPRET_SHARED` (any value but empty, `0`,
`false`, `no` or `off` turns it on). Shared mode turns off everything that reaches the server's files
or runs a user's code: the Mistakes page's "folder on this machine" box, every source in
`CODE_SOURCES`, and downloads of arbitrary Hugging Face Hub repositories (`hf:ORG/NAME`,
`timm:hf-hub:ORG/NAME`: their size has no bound; what the server's Hub cache holds still loads). The
sidebar does not offer them, and the loaders refuse them even when asked.

Outside shared mode a code-bearing file still loads only after an explicit, per-file choice: a ticked
box bound to the file's sha256 in the app, `--trust-code` in the CLI, `trust_code=True` in the API.
Code-bearing sources: TorchScript files, torch.export `.pt2` programs, `py:MODULE:CALLABLE` factories. A new
one is one more row of `CODE_SOURCES` and one `require_code_consent(kind, ...)` call in its loader
(interpret/models/sources/).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ModelLoadError

SHARED_ENV = "INTERPRET_SHARED"
_OFF = ("", "0", "false", "no", "off")

CONSENT_LABEL = "This file can run code on this machine; I trust it"


class CodeConsentRequired(ModelLoadError):
    """A model file that is a program, given without the user's explicit trust."""


class SharedModeRefused(ModelLoadError):
    """Something shared mode turns off (a code-bearing model file), asked for anyway."""


@dataclass(frozen=True)
class CodeSource:
    """A model source whose loading or forward pass runs code that came with the file."""

    kind: str
    what: str  # "a TorchScript file"
    why: str  # what that code can do, in a few words


CODE_SOURCES: dict[str, CodeSource] = {
    "torchscript": CodeSource(
        "torchscript", "a TorchScript file",
        "its forward pass is a program, which can read and write any file this machine's user can"),
    "export": CodeSource(
        "export", "a torch.export program (.pt2)",
        "torch.export.load unpickles parts of it and can load native libraries packed in it, which can run "
        "anything this machine's user can"),
    "python": CodeSource(
        "python", "your Python code (a py:MODULE:CALLABLE factory)",
        "importing and calling it runs that code with this machine's user's rights"),
}


def shared_mode() -> bool:
    """True when the app is served to others (`INTERPRET_SHARED` set): no server files, no users' code."""
    return os.environ.get(SHARED_ENV, "").strip().lower() not in _OFF


def hub_downloads_allowed() -> bool:
    """Whether a Hub repository a user names may be downloaded (never in shared mode: any size, any repository)."""
    return not shared_mode()


def require_hub_download(name: str) -> None:
    """Refuse downloading the Hub repository `name` in shared mode (a cached copy is no download)."""
    if not hub_downloads_allowed():
        raise SharedModeRefused(
            f"'{name}' is not in this server's Hugging Face cache, and shared mode is on ({SHARED_ENV} is set): "
            "downloads of arbitrary Hub repositories are off on a shared server (their size has no bound).")


def local_files_allowed() -> bool:
    """Whether a user may name files and folders on the server (the Mistakes page's folder box)."""
    return not shared_mode()


def code_allowed() -> bool:
    """Whether code-bearing model files may be offered at all (never in shared mode)."""
    return not shared_mode()


def require_code_consent(kind: str, name: str, trust_code: bool) -> None:
    """Refuse a code-bearing file of `kind` called `name`, unless the user trusts it and shared mode is off."""
    source = CODE_SOURCES[kind]
    if shared_mode():
        raise SharedModeRefused(
            f"'{name}' is {source.what}, and shared mode is on ({SHARED_ENV} is set): files that run code "
            f"are refused on a shared server, because {source.why}.")
    if not trust_code:
        raise CodeConsentRequired(
            f"'{name}' is {source.what}: {source.why}. Load it only if you trust it: tick "
            f"'{CONSENT_LABEL}' in the app, or pass --trust-code (CLI) or trust_code=True (load_model).")
