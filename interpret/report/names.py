"""File names of exported pictures and maps, and model specs fit to share.

A name carries the model (its spec's last part and the start of its key: two models never share a file name, even
with one architecture and two checkpoints), the photo, the method and the target, each part made of letters, digits,
'-', '_' and '.' only, so the name is safe on every file system and in a zip. A spec shared in a report names a local
file by its file name only: the folders of the machine it ran on stay out of it.
"""
from __future__ import annotations

import os
import re
import unicodedata

PART_CHARS = 40  # characters of one part of a file name
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_part(text: object, limit: int = PART_CHARS) -> str:
    """`text` as one part of a file name: accents dropped, every other character outside [A-Za-z0-9._-] made '_',
    no leading dot, at most `limit` characters; 'x' for nothing left."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    part = _UNSAFE.sub("_", ascii_text).strip("._")[:limit].strip("._")
    return part or "x"


def stem(name: str) -> str:
    """A photo's name without its folders and extension, as a file name part."""
    base = os.path.basename(str(name).replace("\\", "/")) or str(name)
    return file_part(base.rsplit(".", 1)[0] if "." in base.strip(".") else base)


def public_spec(spec: str) -> str:
    """The spec with every local path reduced to its file name ('file:/home/u/m.pt' -> 'file:m.pt', '/a/b.pt2' ->
    'b.pt2', 'hf:/data/vit' -> 'hf:vit'); names from a hub or zoo ('hf:org/name', 'timm:resnet18') stay whole."""
    prefix, sep, rest = spec.partition(":")
    if sep and len(prefix) > 1 and "/" not in prefix and "\\" not in prefix:
        head, body = prefix + ":", rest
    else:
        head, body = "", spec
    if body.startswith("py:") or head == "py:":
        return spec  # a module path, not a file
    if _is_local_path(body):
        return head + os.path.basename(body.rstrip("/\\").replace("\\", "/"))
    return spec


def _is_local_path(text: str) -> bool:
    return bool(text) and (os.path.isabs(text) or text.startswith(("./", "../", "~")) or os.path.exists(text))


def model_part(spec: str, key: str) -> str:
    """The model in a file name: the spec's last name and the first 6 characters of its key."""
    name = public_spec(spec).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    short = file_part(name.rsplit(".", 1)[0] if name.lower().endswith((".pt", ".pt2", ".pth", ".ts")) else name, 32)
    return f"{short}-{file_part(key, 6)}" if key else short


def map_file_name(spec: str, key: str, photo: str, method: str, target: int, target_label: str, suffix: str) -> str:
    """'efficientnet_lite0-1a2b3c_coffee_gradient_967-espresso.png': model, photo, method, target index and name."""
    return (f"{model_part(spec, key)}_{stem(photo)}_{file_part(method, 32)}_{int(target)}-{file_part(target_label, 24)}"
            f"{suffix}")
