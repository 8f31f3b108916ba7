"""A Hugging Face Hub cache entry written by hand, in huggingface_hub's layout, so Hub names load offline."""
from __future__ import annotations

import shutil
from pathlib import Path

COMMIT = "0" * 40


def cache_entry(cache: Path, repo: str, folder: Path) -> Path:
    """Put the files of `folder` in `cache` as repository `repo` at revision main; returns the snapshot folder.

    The layout is huggingface_hub's: models--ORG--NAME/refs/main holds the commit, snapshots/COMMIT the files."""
    entry = cache / ("models--" + repo.replace("/", "--"))
    snapshot = entry / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    (entry / "refs").mkdir(exist_ok=True)
    (entry / "refs" / "main").write_text(COMMIT)
    for file in folder.iterdir():
        shutil.copy(file, snapshot / file.name)
    return snapshot
