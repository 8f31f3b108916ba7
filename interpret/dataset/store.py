"""The dataset store: a folder of Parquet shards anyone can read with pandas or pyarrow, and its manifest.

    STORE/manifest.json                what was run: model, preprocessing, methods, targets, seeds, listing hash,
                                       library versions, schema version
    STORE/shards/part-00000.parquet    one row per image x method x target (SCHEMA), or an image's error row
    STORE/shards/_part-00000.done      the shard's success marker (its row and image counts), written last; its
                                       leading '_' (and a temporary file's '.') keep `pd.read_parquet(STORE/shards)`
                                       to the shards
    STORE/maps/part-00000.npy          full-resolution maps (float16, N x H x W) when asked, `full_map` indexes it

Every file is written to a temporary name and renamed into place, the marker last: a shard without its marker
was in flight when the run stopped and is computed again; one with it is never redone. A run into a store whose
manifest differs is refused, naming what changed, unless it overwrites the store.

A new column joins the end of SCHEMA without a new SCHEMA_VERSION: shards are read with SCHEMA, so an older
store's rows read it as empty (null) and an older reader leaves it out. Only a change of what a column means bumps
SCHEMA_VERSION (an older store is then refused in one line). Added so far: `channel_max` (`--channels`).
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InterpretError
from ..files import printable

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

SCHEMA = pa.schema([
    ("image_id", pa.string()), ("path", pa.string()), ("label", pa.string()), ("label_index", pa.int64()),
    ("predicted", pa.int64()), ("predicted_label", pa.string()), ("probability", pa.float32()),
    ("top_indices", pa.list_(pa.int64())), ("top_probabilities", pa.list_(pa.float32())), ("correct", pa.bool_()),
    ("method", pa.string()), ("params", pa.string()), ("layer", pa.string()),
    ("target_kind", pa.string()), ("target", pa.int64()), ("target_label", pa.string()), ("contrast", pa.int64()),
    ("objective", pa.string()), ("seed", pa.int64()),
    ("peak_row", pa.float32()), ("peak_col", pa.float32()), ("centre_share", pa.float32()), ("border_share", pa.float32()),
    ("top10_share", pa.float32()), ("entropy", pa.float32()),
    ("map", pa.binary()), ("map_side", pa.int32()), ("full_map", pa.int64()),
    ("deletion_auc", pa.float32()), ("insertion_auc", pa.float32()), ("road", pa.float32()),
    ("seconds", pa.float32()), ("error", pa.string()),
    ("channel_max", pa.list_(pa.float32())),
])


class StoreError(InterpretError):
    """A store that cannot be written or read as asked (another run's, a newer schema, a broken shard)."""


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


def _atomic_write(path: Path, write: Any) -> None:
    """`write(temporary_path)`, then rename it to `path`: a reader sees the whole file or none."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(temporary)
    os.replace(temporary, path)


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    names = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(f"{prefix}{key}")
    return names


class Store:
    """A store folder: its manifest, the shards done, and atomic writes of new ones."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser()
        self.shards = self.folder / "shards"
        self.maps = self.folder / "maps"

    def manifest(self) -> dict | None:
        path = self.folder / MANIFEST
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"'{printable(path)}' is not a readable manifest ({type(exc).__name__}).") from None
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA_VERSION:
            found = manifest.get("schema") if isinstance(manifest, dict) else None
            raise StoreError(f"'{printable(self.folder)}' was written with store schema {found!r}; this version reads "
                             f"schema {SCHEMA_VERSION}: use the interpret version that wrote it, or a new folder.")
        return manifest

    def prepare(self, manifest: dict, overwrite: bool = False) -> None:
        """Make the folder ready for `manifest`: a new store, the same run resumed, or (overwrite) emptied first.

        A different manifest is refused naming the fields that changed; a non-empty folder that is not a store
        is refused too (nothing of the user's is deleted)."""
        manifest = json.loads(json.dumps(manifest))  # as it reads back: tuples become lists
        if overwrite and (self.folder / MANIFEST).exists():
            shutil.rmtree(self.shards, ignore_errors=True)
            shutil.rmtree(self.maps, ignore_errors=True)
            (self.folder / MANIFEST).unlink()
        existing = self.manifest()
        if existing is None and self.folder.exists() and any(self.folder.iterdir()):
            raise StoreError(f"'{printable(self.folder)}' is not empty and holds no {MANIFEST}: give a new or empty folder.")
        if existing is not None:
            changed = _differences({k: v for k, v in existing.items() if k != "created"},
                                   {k: v for k, v in manifest.items() if k != "created"})
            if changed:
                raise StoreError(f"'{printable(self.folder)}' holds a run with other settings ({', '.join(changed[:6])} "
                                 "changed): resume it with the same settings, use a new folder, or --overwrite.")
            return
        self.shards.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest, indent=2, sort_keys=True)
        _atomic_write(self.folder / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))

    def done(self) -> set[int]:
        """The shards finished (their success marker written)."""
        if not self.shards.exists():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.shards.glob("_part-*.done")}

    def write_shard(self, index: int, rows: list[dict], full_maps: np.ndarray | None = None) -> None:
        """Write one shard's rows (and full maps), then its marker: atomically, in that order."""
        name = shard_name(index)
        if full_maps is not None:
            self.maps.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.maps / f"{name}.npy", lambda p: _save_npy(p, full_maps))
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        self.shards.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.shards / f"{name}.parquet", lambda p: pq.write_table(table, p))
        images = len({r["image_id"] for r in rows})
        marker = json.dumps({"rows": len(rows), "images": images})
        _atomic_write(self.shards / f"_{name}.done", lambda p: p.write_text(marker, encoding="utf-8"))

    def read(self, columns: Iterable[str] | None = None) -> pa.Table:
        """Every finished shard's rows (only `columns` if given), in shard order; a broken shard is one clear line."""
        if self.manifest() is None:
            raise StoreError(f"'{printable(self.folder)}' holds no {MANIFEST}: not a dataset store.")
        wanted = list(columns) if columns is not None else None
        tables = []
        for index in sorted(self.done()):
            path = self.shards / f"{shard_name(index)}.parquet"
            try:
                tables.append(pq.read_table(path, columns=wanted, schema=SCHEMA))
            except Exception as exc:  # noqa: BLE001 - a damaged or missing shard is one line naming it
                raise StoreError(f"The shard '{printable(path.name)}' of '{printable(self.folder)}' cannot be read "
                                 f"({type(exc).__name__}): run explain-set again on the same folder after deleting "
                                 f"'_{printable(path.stem)}.done'.") from None
        if not tables:
            return SCHEMA.empty_table() if wanted is None else pa.schema([SCHEMA.field(c) for c in wanted]).empty_table()
        return pa.concat_tables(tables)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)


def maps_of(blobs: Sequence[bytes], side: int) -> np.ndarray:
    """Rows' low-resolution maps (their `map` bytes, float16) as N x side x side float32."""
    if not len(blobs):
        return np.zeros((0, side, side), np.float32)
    joined = np.frombuffer(b"".join(blobs), np.float16)
    return joined.reshape(len(blobs), side, side).astype(np.float32)


def map_of(row: dict) -> np.ndarray:
    """A row's low-resolution map as a float32 array (side x side)."""
    return maps_of([row["map"]], int(row["map_side"]))[0]


def open_store(folder: str | Path, columns: Iterable[str] | None = None) -> Any:
    """A store's rows as a pandas DataFrame (only `columns` if given)."""
    return Store(folder).read(columns).to_pandas()
