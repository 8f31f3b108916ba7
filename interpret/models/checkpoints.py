"""Reading weight files safely: pickles only with weights_only=True, every size bounded before it is allocated.

Before `torch.load`: the file size, and for torch's zip format the central directory (records stored, not
compressed; their declared sizes inside the file and under CHECKPOINT_STORAGE_BYTES). For safetensors, the
header's offsets against the file. After loading, before anything is built: each tensor's claimed size
against its storage (a stride-0 view can claim millions of rows of nothing) and the head's class count.

Then `fit_checkpoint` fits the weights to an architecture in the shapes training code writes them: a plain
state dict or safetensors, wrapped ({"state_dict": ...}, {"model": ...}, {"module": ...}, nested, an EMA
copy under 'state_dict_ema'/'model_ema' only when asked), prefixed (DataParallel/DDP 'module.', torch.compile
'_orig_mod.', a Lightning module's 'model.'), with the head's class count read from the file; it loads
strictly and says in one line what was matched, or refuses naming what is missing, unexpected or reshaped.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import zipfile
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from ..errors import ModelLoadError
from ..limits import (
    CHECKPOINT_BYTES,
    CHECKPOINT_CLAIMED_BYTES,
    CHECKPOINT_STORAGE_BYTES,
    CHECKPOINT_TENSOR_BYTES,
    CHECKPOINT_WRAPPER_DEPTH,
    MAX_CLASSES,
    SAFETENSORS_HEADER_BYTES,
)

# Keys a training script wraps its weights under, tried in this order at each level of nesting.
_WRAPPERS = ("state_dict", "model_state_dict", "model", "module", "net", "network", "weights", "params", "checkpoint")
# Keys of an EMA copy of the weights (timm's train script: 'state_dict_ema'); read only when asked for
# (prefer="ema") or when the file holds nothing else.
_EMA_WRAPPERS = ("state_dict_ema", "model_ema", "model_ema_state_dict", "ema_state_dict", "ema", "ema_model")
PREFER = (None, "ema")
# Key prefixes of wrapped modules: DataParallel/DDP and torch.compile (removed whenever every key has them),
# and attributes that hold the network in Lightning-style modules (removed only when the keys then fit).
_ALWAYS_PREFIXES = ("module.", "_orig_mod.")
_PREFIXES = _ALWAYS_PREFIXES + ("model.", "net.", "network.", "backbone.", "encoder.", "ema.")

# Bytes per element of safetensors' dtypes (the format's specification).
_SAFETENSORS_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                      "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def _open_zip(data: bytes, filename: str) -> zipfile.ZipFile | None:
    """The checkpoint's zip archive, None for a file that is not a zip; a damaged zip is refused."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return None
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, struct.error, EOFError) as exc:
        raise ModelLoadError(f"'{filename}' is a damaged zip archive (its central directory cannot be read: "
                             f"{str(exc)[:120]}).") from exc


def is_torchscript(data: bytes) -> bool:
    """TorchScript archives are zips that hold a code/ folder and constants.pkl."""
    try:
        archive = _open_zip(data, "model")
    except ModelLoadError:
        return False  # read_state_dict names the damage
    if archive is None:
        return False
    names = archive.namelist()
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


def check_zip_records(archive: zipfile.ZipFile, size: int, filename: str) -> None:
    """Refuse a torch zip whose records are compressed, lie outside the file, or declare too many bytes.

    torch.save writes every record stored (uncompressed), so a compressed record is a crafted file: inside
    torch.load a 1 MB record could inflate to 1 GB before anything checks it."""
    infos = archive.infolist()
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelLoadError(f"'{filename}' holds a compressed record ('{info.filename}'); PyTorch checkpoints "
                                 "store their records uncompressed, so the file was refused.")
    declared = sum(info.file_size for info in infos)
    if declared > CHECKPOINT_STORAGE_BYTES:
        raise ModelLoadError(f"'{filename}' declares {_mb(declared)} of records; checkpoints of up to "
                             f"{_mb(CHECKPOINT_STORAGE_BYTES)} are read (limit CHECKPOINT_STORAGE_BYTES).")
    for info in infos:
        if info.file_size != info.compress_size or not 0 <= info.header_offset <= size - info.compress_size:
            raise ModelLoadError(f"'{filename}' is damaged: record '{info.filename}' declares {info.file_size} bytes "
                                 "that the file does not hold.")


def check_safetensors_header(data: bytes, filename: str) -> None:
    """Refuse a safetensors file whose header declares tensors the file does not hold, or too many bytes."""
    _check_safetensors(data, len(data), filename)


def check_safetensors_file(path: str | os.PathLike[str], filename: str) -> None:
    """`check_safetensors_header` for a file on disk (a transformers folder's weights), reading its header only:
    a damaged file is refused by name before a library reads it."""
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            head = file.read(8)
            if len(head) == 8:
                head += file.read(min(struct.unpack_from("<Q", head)[0], SAFETENSORS_HEADER_BYTES))
    except OSError as exc:
        raise ModelLoadError(f"Cannot read '{filename}': {exc.strerror or exc}.") from exc
    _check_safetensors(head, size, filename)


def _check_safetensors(data: bytes, size: int, filename: str) -> None:
    """The checks of a safetensors file of `size` bytes whose first bytes (at least its header) are `data`: a header
    of bounded size, every tensor inside the body, the tensors covering the body end to end (as safetensors' own
    reader requires), each tensor and their sum within bounds."""
    if size < 8 or len(data) < 8:
        raise ModelLoadError(f"'{filename}' is too short to be a safetensors file.")
    (length,) = struct.unpack_from("<Q", data)
    if length > min(SAFETENSORS_HEADER_BYTES, size - 8):
        raise ModelLoadError(f"'{filename}' declares a {length:,}-byte header in a {size:,}-byte file: "
                             "not a readable safetensors file.")
    try:
        header = json.loads(data[8:8 + length])
    except (ValueError, RecursionError) as exc:
        raise ModelLoadError(f"'{filename}' has an unreadable safetensors header ({type(exc).__name__}).") from exc
    if not isinstance(header, dict):
        raise ModelLoadError(f"'{filename}' has a safetensors header that is not a mapping of tensors.")
    body = size - 8 - length
    total = 0
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            shape = [int(d) for d in entry["shape"]]
            begin, end = (int(o) for o in entry["data_offsets"])
            itemsize = _SAFETENSORS_BYTES[entry["dtype"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"'{filename}' describes tensor '{str(name)[:80]}' incompletely "
                                 "(dtype, shape, data_offsets).") from exc
        claimed = math.prod(shape) * itemsize
        if min(shape, default=0) < 0 or not 0 <= begin <= end <= body or end - begin != claimed:
            raise ModelLoadError(f"'{filename}' declares tensor '{str(name)[:80]}' of {claimed:,} bytes at "
                                 f"[{begin}, {end}) of a {body:,}-byte body: the file does not hold it.")
        _check_claim(str(name), claimed, filename)
        total += claimed
        spans.append((begin, end))
    _check_covered(sorted(spans), body, filename)
    if total > CHECKPOINT_STORAGE_BYTES:
        raise ModelLoadError(f"'{filename}' declares {_mb(total)} of tensors; checkpoints of up to "
                             f"{_mb(CHECKPOINT_STORAGE_BYTES)} are read (limit CHECKPOINT_STORAGE_BYTES).")


def _check_covered(spans: list[tuple[int, int]], body: int, filename: str) -> None:
    """Refuse tensors (sorted [begin, end) spans) that overlap or leave bytes of a `body`-byte body unclaimed: the
    file is damaged (truncated, padded or spliced), and safetensors' reader would refuse it without naming it."""
    reached = 0
    for begin, end in spans:
        if begin != reached:  # a gap before this tensor, or an overlap with the one before
            reached = -1
            break
        reached = end
    if reached != body:
        raise ModelLoadError(f"'{filename}' is damaged: its tensors do not cover its {body:,}-byte body end to end "
                             "(they overlap or leave bytes unclaimed).")


def _check_claim(name: str, claimed: int, filename: str) -> None:
    if claimed > CHECKPOINT_TENSOR_BYTES:
        raise ModelLoadError(f"'{filename}': tensor '{name[:80]}' claims {_mb(claimed)}; tensors of up to "
                             f"{_mb(CHECKPOINT_TENSOR_BYTES)} are read (limit CHECKPOINT_TENSOR_BYTES).")


def check_tensors(state: dict[str, torch.Tensor], filename: str) -> None:
    """Refuse tensors that claim more than their storage holds (stride-0 or overlapping views) or too much."""
    total = 0
    for name, tensor in state.items():
        claimed = tensor.numel() * tensor.element_size()
        _check_claim(name, claimed, filename)
        if claimed > tensor.untyped_storage().nbytes():
            raise ModelLoadError(f"'{filename}': tensor '{name[:80]}' of shape {tuple(tensor.shape)} claims "
                                 f"{claimed:,} bytes but stores {tensor.untyped_storage().nbytes():,} (a stride-0 or "
                                 "overlapping view); such files are refused.")
        total += claimed
    if total > CHECKPOINT_CLAIMED_BYTES:
        raise ModelLoadError(f"'{filename}': its tensors claim {_mb(total)} together; up to "
                             f"{_mb(CHECKPOINT_CLAIMED_BYTES)} are read (limit CHECKPOINT_CLAIMED_BYTES).")


def _load(data: bytes, filename: str) -> Any:
    if filename.endswith(".safetensors"):
        check_safetensors_header(data, filename)
        from safetensors.torch import load as load_safetensors

        return load_safetensors(data)
    archive = _open_zip(data, filename)
    if archive is not None:
        check_zip_records(archive, len(data), filename)
    # torch.load(mmap=True) needs a file name; the bytes are already in memory and every storage is bounded.
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _load_any(data: bytes, filename: str) -> Any:
    """The object a checkpoint file holds (a state dict, or a dict wrapping one), every size bounded first."""
    if len(data) > CHECKPOINT_BYTES:
        raise ModelLoadError(f"'{filename}' is {_mb(len(data))}; model files of at most {_mb(CHECKPOINT_BYTES)} "
                             "are read (limit CHECKPOINT_BYTES).")
    try:
        return _load(data, filename)
    except ModelLoadError:
        raise
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # not a pickle of weights at all
            raise ModelLoadError(f"'{filename}' is not a readable PyTorch weights file (not a checkpoint, or "
                                 "damaged).") from exc
        raise ModelLoadError(
            f"'{filename}' needs arbitrary Python code to load (a pickled model object, not plain weights), "
            "and such files are refused because they can run anything on this machine. Save the weights with "
            "torch.save(model.state_dict(), path), or export the model with torch.jit.script/trace."
        ) from exc
    except MemoryError as exc:
        raise ModelLoadError(f"'{filename}' needs more memory to load than this machine has.") from exc
    except Exception as exc:  # corrupt zip, truncated file, not a checkpoint at all
        raise ModelLoadError(f"'{filename}' is not a readable PyTorch weights file "
                             f"({type(exc).__name__}: {str(exc)[:200]}).") from exc


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                       for k, v in obj.items())


def _find(obj: Any, prefer: str | None, path: tuple[str, ...], seen: set[int],
          filename: str) -> tuple[dict[str, torch.Tensor], tuple[str, ...]] | None:
    """Depth-first through the wrapper keys, in order of preference; each dict is visited once (a pickle can
    make one dict the value of many keys), and no deeper than CHECKPOINT_WRAPPER_DEPTH."""
    if _is_state_dict(obj):
        return obj, path
    if not isinstance(obj, dict) or id(obj) in seen:
        return None
    if len(path) >= CHECKPOINT_WRAPPER_DEPTH:
        raise ModelLoadError(f"'{filename}': its weights are wrapped more than {CHECKPOINT_WRAPPER_DEPTH} levels deep "
                             "(limit CHECKPOINT_WRAPPER_DEPTH).")
    seen.add(id(obj))
    order = _EMA_WRAPPERS + _WRAPPERS if prefer == "ema" else _WRAPPERS + _EMA_WRAPPERS
    for key in order:
        if key in obj:
            found = _find(obj[key], prefer, (*path, key), seen, filename)
            if found is not None:
                return found
    return None


def _unwrap(obj: Any, prefer: str | None, filename: str) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """The state dict inside `obj` and the wrapper keys it sat under, outermost first.

    At each level the known wrapper keys are tried in order: the regular weights first, the EMA copy
    (`model_ema`, `state_dict_ema`, ...) only with prefer="ema" (or when it is all the file has)."""
    found = _find(obj, prefer, (), set(), filename)
    if found is None:
        keys = ", ".join(repr(str(k)[:40]) for k in list(obj)[:6]) if isinstance(obj, dict) else type(obj).__name__
        raise ModelLoadError(f"'{filename}' does not hold a state dict (a mapping of parameter names to tensors): "
                             f"found {keys or 'nothing'}; the wrapper keys read are "
                             f"{', '.join(_WRAPPERS + _EMA_WRAPPERS)}.")
    if prefer == "ema" and not any(k in _EMA_WRAPPERS for k in found[1]):
        raise ModelLoadError(f"'{filename}': EMA weights were asked for, but the file holds none "
                             f"(EMA wrapper keys read: {', '.join(_EMA_WRAPPERS)}).")
    return found


def _check_prefer(prefer: str | None) -> None:
    if prefer not in PREFER:
        raise ModelLoadError(f"Which weights of a checkpoint to load is None (the regular ones) or 'ema', "
                             f"not {str(prefer)[:40]!r}.")


def read_checkpoint(data: bytes, filename: str = "weights",
                    prefer: str | None = None) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """The state dict in checkpoint bytes (unwrapped, its keys as saved) and the wrapper keys it sat under.

    Refuses pickles that would run code and sizes over the limits; `prefer="ema"` picks the EMA weights."""
    _check_prefer(prefer)
    state, path = _unwrap(_load_any(data, filename), prefer, filename)
    check_tensors(state, filename)
    return state, path


def read_state_dict(data: bytes, filename: str = "weights") -> dict[str, torch.Tensor]:
    """A state dict from checkpoint bytes, unwrapped, a DataParallel 'module.' prefix removed."""
    state, _ = read_checkpoint(data, filename)
    prefix = "module."
    if all(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def _overlap(keys: Iterable[str], reference: set[str]) -> int:
    return sum(k in reference for k in keys)


def normalise_keys(state: dict[str, torch.Tensor], reference: set[str]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """`state` with the prefixes that wrappers add removed, and the prefixes removed (in order).

    An AveragedModel's (SWA) 'n_averaged' counter is dropped beside its 'module.' keys. 'module.'
    (DataParallel/DDP, AveragedModel, timm's ModelEma) and '_orig_mod.' (torch.compile) are removed whenever
    every key has them and the architecture's own keys do not start with them; 'model.'/'net.'/... (Lightning
    and similar modules that hold the network as an attribute) only when removing them makes more keys fit."""
    removed: list[str] = []
    if "n_averaged" in state and "n_averaged" not in reference:  # torch.optim.swa_utils.AveragedModel's counter
        rest = {k: v for k, v in state.items() if k != "n_averaged"}
        if rest and all(k.startswith("module.") for k in rest):
            state = rest
            removed.append("n_averaged")
    for _ in range(CHECKPOINT_WRAPPER_DEPTH):
        found = _wrapper_prefix(state, reference)
        if found is None:
            break
        state = {k[len(found):]: v for k, v in state.items()}
        removed.append(found)
    if any("._orig_mod." in f".{k}" for k in state):  # a compiled submodule: the segment sits inside the keys
        inner = {k.replace("._orig_mod.", ".").removeprefix("_orig_mod."): v for k, v in state.items()}
        if len(inner) == len(state) and _overlap(inner, reference) > _overlap(state, reference):
            state = inner
            removed.append("._orig_mod.")
    return state, removed


def _wrapper_prefix(state: dict[str, torch.Tensor], reference: set[str]) -> str | None:
    """The first wrapper prefix every key has whose removal fits more keys (or, for the prefixes that are always a
    wrapper's, no fewer, where the architecture's own keys do not start with it); None when none does."""
    before = _overlap(state, reference)
    for prefix in _PREFIXES:
        if not all(k.startswith(prefix) for k in state):
            continue
        after = _overlap((k[len(prefix):] for k in state), reference)
        if after > before or (prefix in _ALWAYS_PREFIXES and after == before
                              and not any(k.startswith(prefix) for k in reference)):
            return prefix
    return None


def _listed(keys: list[str], count: int = 4) -> str:
    shown = ", ".join(k[:60] for k in keys[:count])
    return f"{shown}, ... ({len(keys)} in all)" if len(keys) > count else shown


def _dims(shape: torch.Size) -> str:
    return "x".join(map(str, shape)) or "scalar"


def _describe(path: tuple[str, ...], removed: list[str], ema: bool, head: str = "") -> str:
    notes = []
    if path:
        notes.append(("EMA wrapper " if ema else "wrapper ") + " > ".join(repr(k) for k in path))
    if "n_averaged" in removed:
        notes.append("an AveragedModel's 'n_averaged' dropped")
        removed = [p for p in removed if p != "n_averaged"]
    if removed:
        notes.append(("prefix " if len(removed) == 1 else "prefixes ") + ", ".join(repr(p) for p in removed)
                     + " removed")
    if head:
        notes.append(head)
    return f" ({', '.join(notes)})" if notes else ""


def fit_checkpoint(build: Callable[[int | None], nn.Module], data: bytes, filename: str,
                   prefer: str | None = None) -> tuple[nn.Module, str]:
    """The architecture `build` makes, with the checkpoint's weights loaded strictly, and a one-line report.

    `build(None)` makes the architecture with its own head; `build(n)` with an n-class head, called when the
    checkpoint's head has n classes. Wrappers ({"state_dict": ...}, {"model": ...}, EMA copies with
    prefer="ema", nested) and prefixes (DataParallel/DDP, torch.compile, Lightning) are undone first; the
    report says which, e.g. "matched 102 of 102 tensors (wrapper 'state_dict', prefix 'module.' removed)".
    A checkpoint that does not fit (missing, unexpected or differently shaped tensors) is refused, naming them.
    """
    state, path = read_checkpoint(data, filename, prefer)
    model = build(None)
    state, removed = normalise_keys(state, set(model.state_dict()))
    classes = head_size(model, state, filename)
    resized = ""
    if classes is not None:
        model = build(classes)
        resized = f"head of {classes} output{'s' if classes != 1 else ''}"
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [f"{k} (file {_dims(v.shape)}, model {_dims(expected[k].shape)})"
                  for k, v in state.items() if k in expected and v.shape != expected[k].shape]
    matched = len(expected) - len(missing) - len(mismatched)
    ema = any(k in _EMA_WRAPPERS for k in path)
    if missing or unexpected or mismatched:
        parts = [f"{len(keys)} {what}: {_listed(keys)}" for what, keys in
                 (("missing", missing), ("unexpected", unexpected), ("of another shape", mismatched)) if keys]
        raise ModelLoadError(f"'{filename}' does not fit this architecture: matched {matched} of {len(expected)} "
                             f"tensors{_describe(path, removed, ema, resized)}; " + "; ".join(parts) + ".")
    load_into(model, state, filename)
    return model, f"matched {matched} of {len(expected)} tensors{_describe(path, removed, ema, resized)}"


def head_size(reference: nn.Module, state: dict[str, torch.Tensor], filename: str = "weights") -> int | None:
    """The number of classes a state dict was trained for, where its head differs (at most MAX_CLASSES).

    The head is the architecture's last two floating-point tensors (a classifier's weight and bias): only
    there does a first dimension that differs mean a class count; elsewhere it is another architecture."""
    ref = reference.state_dict()
    last = [k for k in ref if ref[k].is_floating_point() and ref[k].ndim >= 1][-2:]
    for key in last:
        value = state.get(key)
        if value is not None and value.ndim == ref[key].ndim and value.shape != ref[key].shape:
            if ref[key].shape[1:] == value.shape[1:]:
                classes = int(value.shape[0])
                if not 1 <= classes <= MAX_CLASSES:
                    raise ModelLoadError(f"'{filename}': its head '{key}' has {classes:,} classes; models of 1 to "
                                         f"{MAX_CLASSES:,} classes are accepted (limit MAX_CLASSES).")
                return classes
    return None


def load_into(model: nn.Module, state: dict[str, torch.Tensor], filename: str) -> nn.Module:
    """Load a state dict strictly, turning mismatches into one readable message."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = "; ".join(lines[1:4]) if len(lines) > 1 else lines[0]
        raise ModelLoadError(f"'{filename}' does not fit this architecture: {detail[:400]}") from exc
    return model
