"""A labelled image set from a file tree: class-named folders (ImageFolder) or a CSV of path,label."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from ..errors import ImageSetError
from ..files import printable
from ..images import ACCEPTED
from ..limits import CSV_BYTES, CSV_FIELD_CHARS, SET_BYTES
from ..models.keys import canonical_key
from .filetree import FileTree, FolderTree, ZipTree, read_regular
from .safezip import DEFAULT_LIMITS, ZipLimits, safe_member_path

IMAGE_SUFFIXES = tuple(f".{s}" for s in ACCEPTED)


@dataclass(frozen=True)
class LabelledImage:
    path: str  # relative path inside the set
    label: str  # the label as the user wrote it


@dataclass
class ImageSet:
    """The images with their labels, what was skipped and why, and a fingerprint for caching."""

    name: str
    items: list[LabelledImage]
    tree: FileTree = field(repr=False)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    layout: str = "folders"  # "folders" or "csv"

    @cached_property
    def fingerprint(self) -> str:
        """The full sha256 of a canonical encoding of the tree's identity (a folder's resolved path, a zip's
        sha256) and every (path, label, file identity): same files and labels -> same key, two folders of the
        same layout -> different keys."""
        rows = [[item.path, item.label, self.tree.files[item.path]] for item in self.items]
        return canonical_key("imageset", self.tree.identity, rows)

    def skipped_summary(self) -> str:
        """One line such as '3 not images, 1 unsafe path', or '' when nothing was skipped."""
        return ", ".join(f"{len(names)} {reason}" for reason, names in self.skipped.items())


def _is_image(path: str) -> bool:
    name = PurePosixPath(path).name
    return path.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".") and "__MACOSX" not in PurePosixPath(path).parts


def _skip(skipped: dict[str, list[str]], reason: str, path: str) -> None:
    skipped.setdefault(reason, []).append(path)


def _read_csv(text: str, where: str) -> list[tuple[str, str]]:
    """(path, label) rows; a malformed CSV (an unclosed quote, a field over CSV_FIELD_CHARS, a NUL) is refused by
    file and line. `where` names the CSV and its set, as messages show them."""
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        for row in reader:
            if any(len(cell) > CSV_FIELD_CHARS for cell in row):
                raise ImageSetError(f"{where} line {reader.line_num}: a field is longer than {CSV_FIELD_CHARS:,} "
                                 "characters (limit CSV_FIELD_CHARS).")
            if any("\0" in cell for cell in row):
                raise ImageSetError(f"{where} line {reader.line_num} holds a NUL character: not a text CSV.")
            if row and any(c.strip() for c in row):
                rows.append(row)
    except csv.Error as exc:
        raise ImageSetError(f"{where} line {reader.line_num} is not valid CSV ({exc}).") from exc
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    bad = [i for i, r in enumerate(rows) if len(r) < 2 or not r[0].strip() or not r[1].strip()]
    if bad:
        raise ImageSetError(f"{where} must have two columns, path and label; row {bad[0] + 1} does not.")
    return [(r[0].strip(), r[1].strip()) for r in rows]


def _from_csv(tree: FileTree, csv_path: str, skipped: dict[str, list[str]]) -> list[LabelledImage]:
    where = f"'{printable(csv_path)}' in '{printable(tree.name)}'"
    with tree.reader() as read:
        data = read(csv_path)
    if len(data) > CSV_BYTES:
        raise ImageSetError(f"{where} is larger than {CSV_BYTES // 2**20} MB (limit CSV_BYTES).")
    try:
        rows = _read_csv(data.decode("utf-8-sig"), where)
    except UnicodeDecodeError as exc:
        raise ImageSetError(f"{where} is not UTF-8 text.") from exc
    base = PurePosixPath(csv_path).parent
    items, listed = [], set()
    for path, label in rows:
        joined = safe_member_path(str(base / path)) if not path.startswith(("/", "\\")) else None
        if joined is None:
            _skip(skipped, "unsafe path in the CSV", path)
        elif joined not in tree.files:
            _skip(skipped, "listed in the CSV but missing", path)
        elif not _is_image(joined):
            _skip(skipped, "not images", path)
        else:
            items.append(LabelledImage(joined, label))
            listed.add(joined)
    for path in tree.files:
        if path != csv_path and _is_image(path) and path not in listed:
            _skip(skipped, "images not in the CSV", path)
    return items


def from_tree(tree: FileTree) -> ImageSet:
    """Read the layout: a CSV (path,label) if the tree holds exactly one, else class-named folders."""
    skipped = {reason: list(names) for reason, names in tree.skipped.items()}
    csvs = [p for p in tree.files if p.lower().endswith(".csv") and "__MACOSX" not in PurePosixPath(p).parts]
    if len(csvs) > 1:
        raise ImageSetError(f"'{printable(tree.name)}' holds {len(csvs)} CSV files ({', '.join(sorted(csvs)[:3])}); "
                         "give exactly one path,label CSV.")
    if csvs:
        items = _from_csv(tree, csvs[0], skipped)
        for path in tree.files:
            if path != csvs[0] and not _is_image(path):
                _skip(skipped, "not images", path)
        layout = "csv"
    else:
        items = []
        for path in sorted(tree.files):
            if not _is_image(path):
                _skip(skipped, "not images", path)
            elif "/" not in path:
                _skip(skipped, "images outside a class folder", path)
            else:
                items.append(LabelledImage(path, PurePosixPath(path).parent.name))
        layout = "folders"
    if not items:
        detail = "; ".join(f"{len(v)} {k}" for k, v in skipped.items())
        raise ImageSetError(f"'{printable(tree.name)}' holds no labelled images" + (f" ({detail})" if detail else "") +
                         ". Use class-named folders of images, or images with a path,label CSV.")
    tree.check_pixels([item.path for item in items])  # refused here, from the headers, before any decoding
    return ImageSet(Path(tree.name).name or tree.name, items, tree, skipped, layout)


def open_zip(data: bytes, name: str = "images.zip", limits: ZipLimits = DEFAULT_LIMITS) -> ImageSet:
    """A labelled set from the bytes of an untrusted zip, read in memory (never extracted)."""
    return from_tree(ZipTree(data, name, limits))


def open_path(path: str | Path) -> ImageSet:
    """A labelled set from a local .zip file, a folder, or a path,label CSV file (paths relative to it)."""
    path = Path(str(path).strip()).expanduser()
    if path.is_file() and path.suffix.lower() == ".zip":
        return open_zip(read_regular(path.resolve(), path.name, SET_BYTES), path.name)
    if path.is_file() and path.suffix.lower() == ".csv":
        tree = FolderTree(path.parent)
        relative = path.name
        others = [p for p in tree.files if p.lower().endswith(".csv") and p != relative]
        for other in others:  # the CSV named is the one that counts
            del tree.files[other]
        return from_tree(tree)
    if path.is_dir():
        return from_tree(FolderTree(path))
    raise ImageSetError(f"'{printable(path)}' is neither a folder, a .zip file nor a .csv file.")
