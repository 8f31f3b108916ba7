"""What a dataset run explains: every image of a source, its id, relative path and label (or none), read lazily.

A source is what the Mistakes page reads (a folder of class-named folders, a .zip of them, a path,label CSV),
an unlabelled folder (every image in it and below), or a listing file: a CSV or Parquet file with a `path`
column (relative to the listing's folder) and an optional `label` column. Nothing is decoded here: the engines
read each image when its shard runs, so memory does not grow with the set. A folder is walked without
recursion (a folder nested thousands deep is fine) and without following links; the count of images is
bounded by `limits.DATASET_IMAGES`, each file by `limits.SET_MEMBER_BYTES` (no bound on the set's total size).
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import ImageSetError
from ..files import printable
from ..limits import CSV_BYTES, DATASET_IMAGES
from ..mistakes.filetree import FileTree, ZipTree, read_regular
from ..mistakes.imageset import IMAGE_SUFFIXES, ImageSet, from_tree
from ..mistakes.safezip import safe_member_path

Reader = Callable[[str], bytes]


@dataclass(frozen=True)
class Item:
    """One image: a stable id (from its relative path), the path, and its label as written (None: unlabelled)."""

    id: str
    path: str
    label: str | None


def image_id(path: str) -> str:
    """The id of the image at relative `path`: the first 16 hex digits of its sha256 (the seed of its noise too)."""
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass
class Listing:
    """The images of one source, in a fixed order, and how to read one (`read(path)` -> bytes)."""

    name: str
    items: list[Item]
    root: Path | None = None  # a folder's (or a listing file's folder's) resolved path
    tree: FileTree | None = field(default=None, repr=False)  # or the file tree of a zip or of the app's loaded set
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        return any(item.label is not None for item in self.items)

    def fingerprint(self) -> str:
        """The sha256 of every (path, label) in order: the same listing, the same store."""
        digest = hashlib.sha256()
        for item in self.items:
            digest.update(f"{item.path}\0{item.label}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """A function reading one image's bytes by its relative path (a file bounded by SET_MEMBER_BYTES, a zip
        member by the zip's own bounds), valid inside the `with` block (a zip is opened once for all its reads)."""
        if self.tree is not None:
            with self.tree._raw_reader() as read:  # no set-wide pixel budget: each image is bounded when decoded
                yield read
            return
        root = self.root
        assert root is not None
        yield lambda path: read_regular(root / path, path)


def is_image(path: str) -> bool:
    name = PurePosixPath(path).name
    return path.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".") and "__MACOSX" not in path


def walk_images(root: Path) -> Iterator[str]:
    """Relative paths of the regular image files under `root`, sorted, links not followed, without recursion."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in reversed([e for e in entries if e.is_dir(follow_symlinks=False)]):
            stack.append(Path(entry.path))
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and is_image(entry.name):
                yield Path(entry.path).relative_to(root).as_posix()


def _bounded(count: int, name: str) -> None:
    if count > DATASET_IMAGES:
        raise ImageSetError(f"'{printable(name)}' holds more than {DATASET_IMAGES:,} images (limit DATASET_IMAGES): "
                            "split it into several listings.")


def _folder(root: Path, name: str) -> Listing:
    """A folder: class-named subfolders give labels; images directly inside it make it an unlabelled folder."""
    paths: list[str] = []
    for path in walk_images(root):
        paths.append(path)
        _bounded(len(paths), name)
    if not paths:
        raise ImageSetError(f"'{printable(name)}' holds no images ({', '.join(s[1:] for s in IMAGE_SUFFIXES)}).")
    labelled = all("/" in p for p in paths)
    items = [Item(image_id(p), p, PurePosixPath(p).parent.name if labelled else None) for p in paths]
    return Listing(Path(name).name or name, items, root=root)


def from_image_set(image_set: ImageSet) -> Listing:
    """A labelled set's images in its order, with their labels, read from its own file tree (a zip, a folder, or the
    demo set in memory: the Mistakes page's set explained by the Dataset page)."""
    items = [Item(image_id(i.path), i.path, i.label) for i in image_set.items]
    _bounded(len(items), image_set.name)
    return Listing(image_set.name, items, tree=image_set.tree,
                   skipped={k: len(v) for k, v in image_set.skipped.items()})


def _zip(path: Path) -> Listing:
    return from_image_set(from_tree(ZipTree(read_regular(path.resolve(), path.name), path.name)))


def _rows_of_csv(path: Path) -> list[dict[str, str | None]]:
    data = read_regular(path.resolve(), path.name, CSV_BYTES + 1)
    if len(data) > CSV_BYTES:
        raise ImageSetError(f"'{printable(path.name)}' is larger than {CSV_BYTES // 2**20} MB (limit CSV_BYTES).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImageSetError(f"'{printable(path.name)}' is not UTF-8 text.") from None
    try:
        return [dict(row) for row in csv.DictReader(io.StringIO(text), strict=True)]
    except csv.Error as exc:
        raise ImageSetError(f"'{printable(path.name)}' is not valid CSV ({exc}).") from None


def _rows_of_parquet(path: Path) -> list[dict[str, str | None]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=None)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one line
        raise ImageSetError(f"'{printable(path.name)}' is not a readable Parquet file ({type(exc).__name__}).") from None
    _bounded(table.num_rows, path.name)
    return [{k: (None if v is None else str(v)) for k, v in row.items()} for row in table.to_pylist()]


def _listing_file(path: Path) -> Listing:
    """A CSV or Parquet listing: a `path` column relative to the listing's folder, an optional `label` column."""
    rows = _rows_of_parquet(path) if path.suffix.lower() == ".parquet" else _rows_of_csv(path)
    if rows and "path" not in rows[0]:
        raise ImageSetError(f"'{printable(path.name)}' has no 'path' column (columns: {', '.join(list(rows[0])[:5])}).")
    root = path.parent.resolve()
    items, skipped = [], 0
    for row in rows:
        relative = safe_member_path(str(row.get("path") or "").strip())
        if relative is None or not is_image(relative) or not stat.S_ISREG(_mode(root / relative)):
            skipped += 1
            continue
        label = (row.get("label") or "").strip() or None
        items.append(Item(image_id(relative), relative, label))
        _bounded(len(items), path.name)
    if not items:
        raise ImageSetError(f"'{printable(path.name)}' lists no image file that exists under its folder.")
    skipped_rows = {"listed but missing, unsafe or not an image": skipped} if skipped else {}
    return Listing(path.name, items, root=root, skipped=skipped_rows)


def _mode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def open_listing(source: str | Path) -> Listing:
    """The listing of `source`: a folder (labelled by class folders, or unlabelled), a .zip, or a CSV / Parquet file."""
    path = Path(str(source).strip()).expanduser()
    if path.is_dir():
        return _folder(path.resolve(), str(source))
    if not path.is_file():
        raise ImageSetError(f"'{printable(source)}' is neither a folder nor a file.")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _zip(path)
    if suffix in (".csv", ".parquet"):
        return _listing_file(path)
    raise ImageSetError(f"'{printable(source)}' is not a folder, a .zip, a .csv or a .parquet listing.")
