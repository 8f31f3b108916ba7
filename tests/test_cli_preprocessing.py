"""The CLI's preprocessing flags: changes to the model's own preprocessing, bad values refused in one line."""
from __future__ import annotations

import argparse

import pytest

from interpret import preprocess
from interpret.cli import preprocessing_args
from interpret.cli.preprocessing_args import add_preprocessing_arguments, apply_changes, preprocessing_from_args
from interpret.preprocess import IMAGENET
from interpret.samples import load_sample


class Refused(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise Refused(message)


def parse(*flags: str) -> argparse.Namespace:
    parser = Parser()
    add_preprocessing_arguments(parser)
    return parser.parse_args(list(flags))


def test_the_choices_are_the_preprocessings_own():
    assert preprocessing_args.RESIZE_MODES == preprocess.RESIZE_MODES
    assert preprocessing_args.INTERPOLATIONS == preprocess.INTERPOLATIONS
    assert preprocessing_args.ROUNDINGS == preprocess.ROUNDINGS
    assert preprocessing_args.BACKENDS == preprocess.BACKENDS


def test_no_flags_change_nothing():
    assert preprocessing_from_args(parse()) is None


def test_the_flags_are_changes_to_the_models_own_preprocessing():
    changes = preprocessing_from_args(parse("--resize", "320", "--crop", "288", "--interpolation", "bicubic",
                                            "--mean", "0.5", "--std", "0.5,0.25,0.5", "--resize-mode", "squash", "--bgr"))
    assert changes == {"resize_size": 320, "crop_size": 288, "interpolation": "bicubic", "mean": (0.5, 0.5, 0.5),
                       "std": (0.5, 0.25, 0.5), "resize_mode": "squash", "channel_order": "BGR"}
    changed = apply_changes(IMAGENET, changes)
    assert changed == IMAGENET.replace(**changes) and changed.crop_rounding == IMAGENET.crop_rounding  # the rest kept


def test_no_crop_resizes_straight_to_the_input_size():
    assert apply_changes(IMAGENET, preprocessing_from_args(parse("--no-crop"))).describe().startswith("resize to 224×224")
    squashed = apply_changes(IMAGENET, preprocessing_from_args(parse("--no-crop", "--crop", "160")))
    assert (squashed.resize_size, squashed.crop_size, squashed.crops) == (160, 160, False)
    with pytest.raises(Refused, match="not allowed with argument --no-crop"):
        parse("--no-crop", "--resize", "256")


@pytest.mark.parametrize(("flags", "message"), [
    (("--crop", "4"), "outside 8-1024 pixels"),
    (("--resize", "big"), "not a whole number"),
    (("--mean", "0.5,0.5"), "three comma-separated"),
    (("--mean", "nan"), "finite"),
    (("--std", "0,1,1"), "must be positive"),
    (("--pad-fill", "300,0,0"), "RGB colour"),
    (("--interpolation", "cubic"), "invalid choice"),
    (("--bgr", "--rgb"), "not allowed with"),
])
def test_a_bad_value_is_refused_with_its_reason(flags, message):
    with pytest.raises(Refused, match=message):
        parse(*flags)


def test_a_command_loads_its_model_with_the_flags_changes():
    from interpret.cli import build_parser
    from interpret.cli.common import model_from_args

    args = build_parser().parse_args(["predict", "sample:coffee", "--model", "torchvision:resnet18", "--weights", "random",
                                      "--crop", "160", "--interpolation", "bicubic", "--bgr"])
    lm = model_from_args(args)
    assert lm.preprocessing == IMAGENET.replace(crop_size=160, interpolation="bicubic", channel_order="BGR")
    assert tuple(lm.preprocessing.to_tensor(load_sample("coffee").image).shape) == (1, 3, 160, 160)


def test_a_bad_flag_is_one_line_and_a_usage_error(capsys):
    from interpret.cli import main

    try:
        code = main(["predict", "sample:coffee", "--std", "0.2,0,0.2"])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and "--std" in err and "must be positive" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flags", [("--mean", "1e308"), ("--std", "1e-300")])
def test_a_mean_or_std_that_overflows_float32_is_refused_not_scored_nan(flags, capsys):
    """Both pass the flag's own check (finite, positive) but give inf or NaN once in float32: every score was NaN,
    printed as 'nan% tench (0)' with status 0."""
    from interpret.cli import main

    code = main(["predict", "sample:coffee", *flags])
    captured = capsys.readouterr()
    assert code == 1 and "nan" not in captured.out.lower()
    assert "NORMALISED_PIXEL_MAX" in captured.err and len(captured.err.strip().splitlines()) == 1
