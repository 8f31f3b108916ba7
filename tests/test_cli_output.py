"""interpret/cli/output.py: output files checked before the work, written whole or not at all; JSON never NaN."""
import errno
import json
import os

import numpy as np
import pytest

from interpret.cli import main
from interpret.cli.output import finite_json, output_path, print_json, write_file, write_npy
from interpret.errors import OutputError


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(err, *words):
    assert err.count("\n") == 1 and err.startswith("error:") and "Traceback" not in err, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("flag", ["--npy", "--out"])
def test_a_missing_folder_or_a_folder_is_one_line_and_nothing_is_computed(tmp_path, capsys, flag):
    code, out, err = run(capsys, "explain", "sample:coffee", flag, str(tmp_path / "missing" / "x.png"))
    assert code == 1 and out == ""
    assert_one_line(err, flag, "does not exist")
    code, out, err = run(capsys, "explain", "sample:coffee", flag, str(tmp_path))
    assert code == 1
    assert_one_line(err, flag, "names a folder")
    assert list(tmp_path.iterdir()) == []


def test_features_outputs_are_checked_before_the_model_loads(tmp_path, capsys):
    code, _, err = run(capsys, "features", "sample:coffee", "--layer", "blocks.3", "--vis-out", str(tmp_path / "no" / "v.png"),
                       "--visualize", "0", "--model", "torchvision:no_such_net")
    assert code == 1  # the output is refused first: the unknown model is never reached
    assert_one_line(err, "--vis-out", "does not exist")


def test_a_non_utf8_file_name_is_refused_by_name(tmp_path, capsys):
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/r\xff\xfe.csv")  # surrogate escapes, as argv gives them
    code, out, err = run(capsys, "mistakes", "demo", "--csv", name)
    assert code == 1 and out == ""
    assert_one_line(err, "--csv", "not valid UTF-8", "\\xff\\xfe")
    assert list(tmp_path.iterdir()) == []


def test_a_device_is_not_replaced(capsys):
    code, _, err = run(capsys, "explain", "sample:coffee", "--out", "/dev/null")
    assert code == 1
    assert_one_line(err, "not a regular file")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_location_nobody_may_write_is_one_line_after_the_work(capsys):
    # /proc refuses new files even to root; the folder exists, so the refusal comes from the write itself
    code, out, err = run(capsys, "explain", "sample:coffee", "--npy", "/proc/interpret-test.npy", "--model",
                         "torchvision:resnet18", "--weights", "random")
    assert code == 1 and out == ""
    assert_one_line(err, "Cannot write --npy '/proc/interpret-test.npy'")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused_before_the_work(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, _, err = run(capsys, "explain", "sample:coffee", "--npy", str(folder / "x.npy"))
        assert code == 1
        assert_one_line(err, "is not writable")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "map.npy"
    target.write_bytes(b"old contents")
    out = output_path(str(target), "--npy")

    def half_then_disk_full(file):
        file.write(b"half of a new file")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="Cannot write --npy .*: the disk is full"):
        write_file(out, half_then_disk_full)
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.npy"]


def test_a_successful_write_replaces_whole_keeps_the_mode_and_never_appends_npy(tmp_path):
    old = tmp_path / "map.npy"
    old.write_bytes(b"old")
    old.chmod(0o640)
    with pytest.raises(OutputError, match=r"--npy '.*map' must end in \.npy"):  # not np.save's silent map.npy
        output_path(str(tmp_path / "map"), "--npy", suffix=".npy")
    out = output_path(str(tmp_path / "map.npy"), "--npy", suffix=".npy")
    write_npy(out, np.arange(3, dtype=np.float32))
    assert np.array_equal(np.load(old), np.arange(3)) and (old.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.npy"]


def test_explain_writes_both_files_and_names_them_in_json(tmp_path, capsys):
    code, out, err = run(capsys, "explain", "sample:coffee", "--model", "torchvision:resnet18", "--weights", "random",
                         "--out", str(tmp_path / "o.png"), "--npy", str(tmp_path / "m.npy"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["npy"] == str(tmp_path / "m.npy") and info["out"] == str(tmp_path / "o.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy", "o.png"]


def strict_loads(text):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_values_are_written_as_null_with_a_note(capsys):
    print_json({"min": float("nan"), "rows": [{"max": float("inf")}, {"max": 1.5}], "neg": -float("inf"), "n": 3})
    captured = capsys.readouterr()
    assert strict_loads(captured.out) == {"min": None, "rows": [{"max": None}, {"max": 1.5}], "neg": None, "n": 3}
    assert captured.err == "note: not finite, written as null: min, rows[0].max, neg\n"
    assert finite_json([1.0, 2]) == ([1.0, 2], [])
