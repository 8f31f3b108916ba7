"""Untrusted zips are read in memory within bounds; folders and CSVs give the same labelled sets."""
import csv
import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from interpret import limits
from interpret.errors import ImageError
from interpret.mistakes import ZipLimits, open_path, open_zip
from interpret.mistakes.filetree import FolderTree, MemoryTree, ZipTree, read_regular
from interpret.samples import sample_bytes


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


COFFEE = sample_bytes("coffee")
CAT = sample_bytes("chelsea")


def test_class_folders_in_a_zip_become_labels_and_nothing_touches_the_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = make_zip({"set/espresso/a.png": COFFEE, "set/tabby/b.png": CAT, "set/tabby/c.png": CAT})
    image_set = open_zip(data, "set.zip")
    assert sorted((i.path, i.label) for i in image_set.items) == [
        ("set/espresso/a.png", "espresso"), ("set/tabby/b.png", "tabby"), ("set/tabby/c.png", "tabby")]
    with image_set.tree.reader() as read:
        assert read("set/espresso/a.png") == COFFEE
    assert list(tmp_path.iterdir()) == []


def test_members_escaping_the_folder_are_skipped_and_reported():
    data = make_zip({"../evil/x.png": COFFEE, "/abs/tabby/x.png": CAT, "ok/../../up/x.png": CAT,
                     "C:/windows/x.png": CAT, "..\\win\\x.png": CAT, "espresso/fine.png": COFFEE})
    image_set = open_zip(data)
    assert [i.path for i in image_set.items] == ["espresso/fine.png"]
    assert len(image_set.skipped["unsafe path"]) == 5
    assert "5 unsafe path" in image_set.skipped_summary()


def test_symbolic_links_are_skipped():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("tabby/link.png")
        link.create_system = 3
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
        archive.writestr("tabby/real.png", CAT)
    image_set = open_zip(buffer.getvalue())
    assert [i.path for i in image_set.items] == ["tabby/real.png"]
    assert image_set.skipped["symbolic link"] == ["tabby/link.png"]


def test_a_zip_bomb_member_is_skipped_without_being_unpacked():
    bomb = make_zip({"tabby/bomb.png": bytes(60 * 2**20), "tabby/cat.png": CAT}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 2**20  # 60 MB of zeros packs into well under a megabyte
    image_set = open_zip(bomb)
    assert [i.path for i in image_set.items] == ["tabby/cat.png"]
    assert image_set.skipped["too large"] == ["tabby/bomb.png"]


def test_archives_declaring_too_much_or_too_many_files_are_refused():
    data = make_zip({f"tabby/{i}.png": bytes(2**20) for i in range(5)}, zipfile.ZIP_DEFLATED)
    with pytest.raises(ImageError, match="zip bomb"):
        open_zip(data, limits=ZipLimits(max_total_bytes=4 * 2**20))
    with pytest.raises(ImageError, match="holds 5 files"):
        open_zip(data, limits=ZipLimits(max_members=4))


def _lie_about_size(data: bytes, declared: int) -> bytes:
    """Rewrite the uncompressed size in the local header and the central directory."""
    data = bytearray(data)
    local = data.find(b"PK\x03\x04")
    data[local + 22:local + 26] = struct.pack("<I", declared)
    central = data.find(b"PK\x01\x02")
    data[central + 24:central + 28] = struct.pack("<I", declared)
    return bytes(data)


def test_a_member_that_unpacks_to_more_than_it_declares_is_refused_while_reading():
    honest = make_zip({"tabby/bomb.png": bytes(8 * 2**20)}, zipfile.ZIP_DEFLATED)
    image_set = open_zip(_lie_about_size(honest, 1000))
    assert [i.path for i in image_set.items] == ["tabby/bomb.png"]
    with image_set.tree.reader() as read, pytest.raises(ImageError, match="tabby/bomb.png"):
        read("tabby/bomb.png")


def test_a_zip_of_non_images_is_refused_with_the_count():
    data = make_zip({"notes/readme.txt": b"hello", "code/run.py": b"print(1)", "__MACOSX/tabby/._x.png": b"junk",
                     "tabby/.hidden.png": b"x"})
    with pytest.raises(ImageError, match="no labelled images.*4 not images"):
        open_zip(data, "junk.zip")


def test_non_images_beside_images_are_counted():
    image_set = open_zip(make_zip({"tabby/cat.png": CAT, "tabby/notes.txt": b"x", "loose.png": CAT}))
    assert [i.path for i in image_set.items] == ["tabby/cat.png"]
    assert image_set.skipped == {"not images": ["tabby/notes.txt"], "images outside a class folder": ["loose.png"]}


def test_not_a_zip_is_a_clear_error():
    with pytest.raises(ImageError, match="not a readable zip"):
        open_zip(b"PK but not really", "fake.zip")


def test_csv_layout_labels_listed_images_and_reports_the_rest():
    data = make_zip({"labels.csv": b"path,label\nimg/a.png,espresso\nimg/b.png,281\nimg/missing.png,tabby\n../x.png,tabby\n",
                     "img/a.png": COFFEE, "img/b.png": CAT, "img/extra.png": CAT})
    image_set = open_zip(data)
    assert image_set.layout == "csv"
    assert [(i.path, i.label) for i in image_set.items] == [("img/a.png", "espresso"), ("img/b.png", "281")]
    assert image_set.skipped["listed in the CSV but missing"] == ["img/missing.png"]
    assert image_set.skipped["unsafe path in the CSV"] == ["../x.png"]
    assert image_set.skipped["images not in the CSV"] == ["img/extra.png"]


def test_folder_zip_and_csv_file_give_the_same_set(tmp_path):
    for path, data in {"espresso/a.png": COFFEE, "tabby/b.png": CAT}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    (tmp_path / "set.zip").write_bytes(make_zip({"espresso/a.png": COFFEE, "tabby/b.png": CAT}))
    archive = open_path(tmp_path / "set.zip")
    from_folder = open_path(tmp_path)
    assert [(i.path, i.label) for i in from_folder.items] == [(i.path, i.label) for i in archive.items]
    (tmp_path / "labels.csv").write_bytes(b"espresso/a.png,espresso\ntabby/b.png,tabby\n")
    from_csv = open_path(tmp_path / "labels.csv")
    assert [(i.path, i.label) for i in from_csv.items] == [(i.path, i.label) for i in archive.items]
    assert from_folder.fingerprint == open_path(tmp_path).fingerprint
    (tmp_path / "tabby/b.png").write_bytes(COFFEE)
    assert open_path(tmp_path).fingerprint != from_folder.fingerprint


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ImageError, match="neither a folder"):
        open_path(tmp_path / "nope")


def test_zip_fingerprint_follows_content():
    one = ZipTree(make_zip({"tabby/a.png": CAT}))
    two = ZipTree(make_zip({"tabby/a.png": COFFEE}))
    assert one.files != two.files


# --- Bounded cost for every set (interpret.limits) --------------------------------------------------------

def _declare_sizes(data: bytes, size: int) -> bytes:
    """Every central-directory entry's uncompressed size set to `size` (the zip's declared total)."""
    data = bytearray(data)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        data[at + 24:at + 28] = struct.pack("<I", size)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def test_a_small_zip_declaring_gigabytes_is_refused_by_its_declared_sizes():
    data = _declare_sizes(make_zip({f"tabby/{i}.png": bytes(1000) for i in range(100)}), 45 * 2**20)
    assert len(data) < 5 * 2**20
    with pytest.raises(ImageError, match=r"unpacks to 4500 MB.*limit SET_BYTES"):
        open_zip(data, "bomb.zip")


def test_a_member_compressed_beyond_the_ratio_bound_is_skipped():
    flat = bytes(4 * 2**20)  # 4 MB of one value deflates about 1000:1
    data = make_zip({"tabby/flat.bmp": flat, "tabby/cat.png": CAT}, zipfile.ZIP_DEFLATED)
    image_set = open_zip(data)
    assert [i.path for i in image_set.items] == ["tabby/cat.png"]
    assert image_set.skipped == {f"compressed over {limits.ZIP_COMPRESSION_RATIO}:1": ["tabby/flat.bmp"]}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_set_declaring_more_pixels_than_the_bound_is_refused_before_decoding():
    big = _png(Image.new("1", (7000, 7000)))  # 49 MP in a few kilobytes
    data = make_zip({f"tabby/{i}.png": big for i in range(40)}, zipfile.ZIP_DEFLATED)
    assert len(data) < 300_000
    with pytest.raises(ImageError, match=r"holds more than 1,000 megapixels.*7000x7000.*limit SET_PIXELS"):
        open_zip(data, "pixels.zip")


def test_the_reader_counts_pixels_too():
    """Headers the peek cannot see (written after it) are counted as the files are read."""
    big = _png(Image.new("1", (5000, 5000)))
    tree = MemoryTree("pixels", {f"tabby/{i}.png": big for i in range(41)})
    with tree.reader() as read, pytest.raises(ImageError, match="limit SET_PIXELS"):
        for path in tree.files:
            read(path)
    with tree.reader() as read:
        read("tabby/0.png")
        read("tabby/0.png")  # the same file read twice counts once


@pytest.mark.parametrize(("text", "message"), [
    (b"path,label\nimg/a.png,\"tabby\n", r"line 2 is not valid CSV \(unexpected end of data\)"),
    (b"path,label\nimg/a.png," + b"x" * 140_000 + b"\n", r"line 2 is not valid CSV \(field larger"),
    (b"path,label\nimg/a.png,\"tabby\"x\n", r"line 2 is not valid CSV"),
    (b"path,label\nimg/a.png,tab\0by\n", r"line 2 holds a NUL character"),
], ids=["unclosed-quote", "long-field", "text-after-quote", "nul"])
def test_malformed_csvs_name_the_file_and_line(text, message):
    data = make_zip({"labels.csv": text, "img/a.png": COFFEE})
    with pytest.raises(ImageError, match="'labels.csv' in 'set.zip' " + message):
        open_zip(data, "set.zip")


def test_a_field_over_the_limit_is_refused_even_if_csv_allows_more():
    previous = csv.field_size_limit(10**7)
    try:
        data = make_zip({"labels.csv": b"img/a.png," + b"x" * (limits.CSV_FIELD_CHARS + 1) + b"\n", "img/a.png": COFFEE})
        with pytest.raises(ImageError, match="'labels.csv' in 'images.zip' line 1: a field is longer than 131,072 characters"):
            open_zip(data)
    finally:
        csv.field_size_limit(previous)


def _folder(root, files: dict[str, bytes]):
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def test_a_fifo_named_png_is_skipped_and_never_opened(tmp_path):
    _folder(tmp_path, {"tabby/cat.png": CAT})
    os.mkfifo(tmp_path / "tabby" / "pipe.png")
    image_set = open_path(tmp_path)
    assert [i.path for i in image_set.items] == ["tabby/cat.png"]
    assert image_set.skipped["not a regular file"] == ["tabby/pipe.png"]
    with pytest.raises(ImageError, match="not a regular file"):
        read_regular(tmp_path / "tabby" / "pipe.png", "tabby/pipe.png")


def test_links_to_devices_and_link_loops_are_skipped(tmp_path):
    _folder(tmp_path, {"tabby/cat.png": CAT})
    (tmp_path / "tabby" / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "tabby" / "loop").symlink_to(tmp_path / "tabby")
    (tmp_path / "tabby" / "self.png").symlink_to(tmp_path / "tabby" / "self.png")
    image_set = open_path(tmp_path)
    assert [i.path for i in image_set.items] == ["tabby/cat.png"]
    assert sorted(image_set.skipped["symbolic link"]) == ["tabby/self.png", "tabby/zero.png"]
    with pytest.raises(ImageError, match="Cannot read"):
        read_regular(tmp_path / "tabby" / "zero.png", "tabby/zero.png")  # never follows the link


def test_a_character_device_is_never_read():
    with pytest.raises(ImageError, match="not a regular file"):
        read_regular(Path("/dev/zero"), "zero.png")


def test_a_folder_holding_more_bytes_than_the_bound_is_refused(tmp_path):
    for i in range(limits.SET_BYTES // limits.SET_MEMBER_BYTES + 1):
        path = tmp_path / "tabby" / f"{i}.png"
        path.parent.mkdir(exist_ok=True)
        with open(path, "wb") as stream:
            stream.truncate(limits.SET_MEMBER_BYTES)  # sparse: no disk used
    with pytest.raises(ImageError, match="limit SET_BYTES"):
        open_path(tmp_path)


def test_two_folders_of_the_same_layout_have_different_fingerprints(tmp_path):
    one = _folder(tmp_path / "one", {"tabby/cat.png": CAT})
    two = _folder(tmp_path / "two", {"tabby/cat.png": CAT})
    os.utime(two / "tabby/cat.png", ns=(os.stat(one / "tabby/cat.png").st_mtime_ns,) * 2)
    assert open_path(one).tree.files == open_path(two).tree.files
    assert open_path(one).fingerprint != open_path(two).fingerprint
    (tmp_path / "link").symlink_to(one)
    assert open_path(tmp_path / "link").fingerprint == open_path(one).fingerprint  # the resolved path
    assert len(open_path(one).fingerprint) == 64


def test_a_file_given_as_a_folder_is_named_as_such(tmp_path):
    (tmp_path / "x.png").write_bytes(CAT)
    with pytest.raises(ImageError, match="is not a folder"):
        FolderTree(tmp_path / "x.png")


def test_an_end_record_pointing_outside_the_file_is_a_damaged_directory():
    data = bytearray(make_zip({"tabby/a.png": CAT, "tabby/b.png": CAT}))
    end = data.rindex(b"PK\x05\x06")
    data[end + 16:end + 20] = (len(data) * 5).to_bytes(4, "little")  # zipfile shifts every member by it
    with pytest.raises(ImageError, match="'shifted.zip' has a damaged central directory"):
        open_zip(bytes(data), "shifted.zip")


def test_names_with_control_characters_stay_one_printable_line():
    with pytest.raises(ImageError) as refused:
        open_zip(b"not a zip", "two\nlines\x1b[31m.zip")
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)
    assert "two\\nlines\\x1b[31m.zip" in str(refused.value)
