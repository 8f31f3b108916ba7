"""interpret/models/classes.py: any class-names file gives plain-text names or one ClassNamesError line."""
import json
import os

import pytest

from interpret.cli import main
from interpret.errors import ClassNamesError
from interpret.limits import CLASS_NAME_CHARS, CLASS_NAMES_FILE_BYTES, CLASS_NAMES_LINES, MAX_CLASSES
from interpret.models.classes import parse_class_names, read_class_names_file


def test_text_and_json_files_give_their_names(tmp_path):
    (tmp_path / "c.txt").write_text("\ufeffcat\n\n  dog  \r\nfox\n", encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps(["cat", "dog"]), encoding="utf-8")
    (tmp_path / "m.json").write_text(json.dumps({"1": "dog", "0": "cat"}), encoding="utf-8")
    assert read_class_names_file(tmp_path / "c.txt") == ("cat", "dog", "fox")
    assert read_class_names_file(tmp_path / "c.json") == ("cat", "dog")
    assert read_class_names_file(tmp_path / "m.json") == ("cat", "dog")


def test_markdown_and_html_in_names_are_kept_as_text():
    # names are plain text: the UI shows them as text, so they are neither refused nor altered here
    assert parse_class_names(b"![x](http://example.com/a.png)\n<script>alert(1)</script>\n") == (
        "![x](http://example.com/a.png)", "<script>alert(1)</script>")


HOSTILE = {
    "deep.json": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "bigint.json": ("[" + "9" * 5000 + "]", "not usable JSON"),
    "bigkey.json": ('{"' + "9" * 5000 + '": "x"}', "must be class indices"),
    "unicode_digit_key.json": ('{"\u00b2": "x"}', "must be class indices"),
    "nested.json": ('[["a"], "b"]', "Name 0 of 'nested.json' is a JSON list, not text"),
    "number.json": ("[1, 2]", "is a JSON int, not text"),
    "null.json": ('{"0": null}', "is a JSON NoneType, not text"),
    "string.json": ('"cat"', "must hold a list of names"),
    "gaps.json": ('{"0": "a", "2": "b"}', "without gaps"),
    "negative.json": ('{"-1": "a"}', "must be class indices"),
    "empty.json": ("[]", "holds no names"),
    "empty_name.json": ('["a", ""]', "Name 1 of 'empty_name.json' is empty"),
    "broken.json": ("[1,", "not valid JSON"),
    "nan.json": ("[NaN]", "is a JSON float, not text"),
    "escape.txt": ("cat\n\x1b[31mred\n", "control character U+001B"),
    "long.txt": ("x" * (CLASS_NAME_CHARS + 1), f"up to {CLASS_NAME_CHARS} are accepted"),
    "blank.txt": ("\n \n\t\n", "holds no names"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_files_give_one_class_names_error(tmp_path, name):
    text, message = HOSTILE[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ClassNamesError) as caught:
        read_class_names_file(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("name, data, message", [
    ("latin1.txt", "café\n".encode("latin-1"), "is not UTF-8 text"),
    ("nul.txt", b"cat\x00dog\n", "NUL byte"),
    ("nul.json", b'["a\x00"]', "NUL byte"),
    ("lines.txt", b"\n" * (CLASS_NAMES_LINES + 1), f"up to {CLASS_NAMES_LINES} are read"),
    ("many.txt", b"".join(b"c%d\n" % i for i in range(MAX_CLASSES + 1)), f"up to {MAX_CLASSES} classes"),
])
def test_hostile_bytes_give_one_class_names_error(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ClassNamesError, match=message):
        read_class_names_file(path)


def test_ten_million_lines_are_refused_by_size_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as file:  # 10 M lines of "c\n": 20 MB, sparse beyond what is written
        file.truncate(10_000_000 * 2)
    with pytest.raises(ClassNamesError, match=f"up to {CLASS_NAMES_FILE_BYTES // 2**20} MB"):
        read_class_names_file(path)


def test_folders_fifos_devices_and_missing_files_are_refused(tmp_path):
    fifo = tmp_path / "classes.txt"
    os.mkfifo(fifo)
    with pytest.raises(ClassNamesError, match="not a regular file"):
        read_class_names_file(fifo)  # opened without waiting for a writer, then refused by its type
    with pytest.raises(ClassNamesError, match="not a regular file"):
        read_class_names_file("/dev/zero")
    with pytest.raises(ClassNamesError, match="is a folder"):
        read_class_names_file(tmp_path)
    with pytest.raises(ClassNamesError, match="does not exist"):
        read_class_names_file(tmp_path / "missing.txt")


def test_the_cli_gives_one_line_for_a_bad_class_file(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert main(["predict", "sample:coffee", "--classes", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nested too deeply" in err and "Traceback" not in err


def test_a_count_mismatch_is_a_class_names_error():
    from interpret.models.classes import fit_class_names

    with pytest.raises(ClassNamesError, match="has 2 names but the model has 3 outputs"):
        fit_class_names(("a", "b"), 3)
