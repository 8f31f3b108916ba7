"""Untrusted zips are read in memory within bounds; folders and CSVs give the same labelled sets."""
import io
import struct
import zipfile

import pytest

from interpret.errors import ImageError
from interpret.mistakes import ZipLimits, open_path, open_zip
from interpret.mistakes.filetree import ZipTree
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
