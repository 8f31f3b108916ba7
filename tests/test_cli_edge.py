"""interpret/cli/__init__.py: the CLI's one catch list, its exit statuses, its name, and a fast --help."""
import subprocess
import sys
import types
from pathlib import Path

import pytest

import interpret.cli as cli
from interpret.cli import main


def command_raising(monkeypatch, exc: BaseException) -> None:
    """A command `boom` whose run raises `exc`: what the edge must turn into one line."""
    module = types.ModuleType("interpret.cli.boom")

    def add_parser(subparsers):
        subparsers.add_parser("boom").set_defaults(run=run)

    def run(args):
        raise exc

    module.add_parser, module.run = add_parser, run
    monkeypatch.setitem(sys.modules, "interpret.cli.boom", module)
    monkeypatch.setitem(cli.COMMANDS, "boom", "boom")


def test_an_unexpected_error_is_one_line_without_a_traceback(monkeypatch, capsys):
    command_raising(monkeypatch, ZeroDivisionError("division by zero\nsecond line"))
    assert main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "error: unexpected error: ZeroDivisionError: division by zero (run with --verbose for the traceback)\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_adds_the_traceback_before_the_line(monkeypatch, capsys, where):
    command_raising(monkeypatch, KeyError("k"))
    assert main(["--verbose", "boom"] if where == "before" else ["boom", "--verbose"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "KeyError: 'k'" in err
    assert err.splitlines()[-1].startswith("error: unexpected error: KeyError")


def test_interrupt_is_one_line(monkeypatch, capsys):
    command_raising(monkeypatch, KeyboardInterrupt())
    assert main(["boom"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_device_advice_only_for_device_failures(monkeypatch, capsys):
    import torch

    command_raising(monkeypatch, torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
    assert main(["boom"]) == 1
    assert capsys.readouterr().err == "error: The device ran out of memory. Try --device cpu, or a smaller model or image.\n"
    command_raising(monkeypatch, RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert main(["boom"]) == 1
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError: mat1" in err and "device" not in err
    command_raising(monkeypatch, MemoryError())
    assert main(["boom"]) == 1
    assert capsys.readouterr().err == "error: the computation ran out of memory; use a smaller image, model or set.\n"


def test_control_characters_in_a_message_are_escaped(capsys):
    assert main(["predict", "evil\x1b[2J.jpg"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2J" in err and err.count("\n") == 1


def test_help_is_status_zero_and_usage_errors_two(capsys):
    assert main(["--help"]) == 0
    assert "usage:" in capsys.readouterr().out
    assert main(["explain"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_closed_stdout_pipe_exits_141_quietly():
    # the reading end is closed before the command writes: its first write meets EPIPE
    process = subprocess.Popen([sys.executable, "-m", "interpret", "methods", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, err = process.communicate(timeout=300)
    assert process.returncode == 141 and err == b""


def test_the_usage_line_names_the_invoked_program():
    module = subprocess.run([sys.executable, "-m", "interpret", "frobnicate"], capture_output=True, text=True, timeout=120)
    assert module.returncode == 2 and module.stderr.startswith("python -m interpret: error: ")
    script = Path(sys.executable).parent / "interpret"
    if not script.exists():
        pytest.skip("the interpret console script is not installed beside this Python")
    console = subprocess.run([str(script), "frobnicate"], capture_output=True, text=True, timeout=120)
    assert console.returncode == 2 and console.stderr.startswith("interpret: error: ")
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: interpret [-h]")


LIGHT = """
import sys, time
from interpret.cli import main
start = time.perf_counter()
codes = [main(argv) for argv in ({argvs})]
assert "torch" not in sys.modules, "torch imported"
print("codes", codes, round(time.perf_counter() - start, 2))
"""


def test_help_and_usage_errors_import_no_torch():
    argvs = [["--help"]] + [[name, "--help"] for name in cli.COMMANDS] + [["explain"], ["features", "sample:coffee"],
                                                                          ["predict", "--top", "x"]]
    done = subprocess.run([sys.executable, "-c", LIGHT.format(argvs=repr(argvs)[1:-1] + ",")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.split("]")[0] == "codes [" + ", ".join(["0"] * (1 + len(cli.COMMANDS)) + ["2", "2", "2"])


def test_choices_spelled_out_for_a_fast_parser_match_the_real_ones():
    from interpret.attribution import OBJECTIVES
    from interpret.cli import explain, features
    from interpret.features import SORTS
    from interpret.models import DEFAULT_SPEC

    assert explain.OBJECTIVES == tuple(OBJECTIVES) and features.SORTS == tuple(SORTS)
    assert f"default {DEFAULT_SPEC};" in cli.build_parser()._subparsers._group_actions[0].choices["predict"].format_help()


def test_a_folder_given_as_an_image_is_named_a_folder(tmp_path, capsys):
    assert main(["predict", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder, not an image file" in err


@pytest.mark.parametrize("args, message", [
    (("--cmap", "no_such_cmap"), "'no_such_cmap' is not a colour map"),
    (("--alpha", "nan"), "must be a number from 0 to 1, not nan"),
    (("--alpha", "1.5"), "must be a number from 0 to 1, not 1.5"),
    (("--alpha=-inf",), "not -inf"),
])
def test_a_bad_colour_map_or_opacity_is_one_line_before_any_work(tmp_path, capsys, args, message):
    out = tmp_path / "o.png"
    assert main(["explain", "sample:coffee", "--model", "torchvision:no_such_net", "--out", str(out), *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_pixels_replaced_while_decoding_are_noted_on_stderr(tmp_path, capsys):
    """A float TIFF's NaN pixel is replaced by the lowest value; the CLI says so, as the image's notes do."""
    import io

    import numpy as np
    from PIL import Image

    values = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)
    values[3, 5] = np.nan
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="TIFF")
    (tmp_path / "depth.tif").write_bytes(buffer.getvalue())
    assert main(["predict", str(tmp_path / "depth.tif"), "--json"]) == 0
    captured = capsys.readouterr()
    assert "'depth.tif' had 1 pixel that was NaN or infinite" in captured.err
    assert "NaN" not in captured.out  # the JSON on stdout stays clean
