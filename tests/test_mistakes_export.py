"""interpret/mistakes/export.py: the results CSV neutralises formula cells in every column, numbers stay numbers."""
import csv
import io

import pytest

from interpret.mistakes import evaluate, open_path, to_csv
from interpret.mistakes.export import FORMULA_STARTS, neutralise
from interpret.models import load_model
from test_mistakes_zip import CAT, COFFEE


@pytest.mark.parametrize("cell, written", [
    ("=1+1", "'=1+1"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=x", "'\t=x"), ("\r=x", "'\r=x"), ("=HYPERLINK(\"http://example.com\")", "'=HYPERLINK(\"http://example.com\")"),
    ("-", "'-"), ("cat", "cat"), ("", ""), ("a=b", "a=b"),
    # numbers are numbers, not formulas: a negative one included, as a number or as text
    (-1.5, -1.5), (0, 0), (True, True), ("-3", "-3"), ("+1.5e-3", "+1.5e-3"), ("-.5", "-.5"),
])
def test_neutralise(cell, written):
    assert neutralise(cell) == written


def test_every_column_of_a_hostile_set_is_neutralised(tmp_path):
    # class names, folder names (labels) and file names (paths) that a spreadsheet would run as formulas
    names = ["=1+1", "-7", "@SUM(A1)", "+cmd"] + [f"class {i}" for i in range(4, 1000)]
    for label, file, data in (("=1+1", "=HYPERLINK(1).png", COFFEE), ("-7", "-2+3.png", CAT),
                              ("@SUM(A1)", "@x.png", COFFEE), ("+cmd", "+1.png", CAT)):
        (tmp_path / label).mkdir()
        (tmp_path / label / file).write_bytes(data)
    lm = load_model("torchvision:resnet18", weights="random", class_names=tuple(names))
    ev = evaluate(lm, open_path(str(tmp_path)), batch_size=4)
    text = to_csv(ev)
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 5
    header, body = rows[0], rows[1:]
    for row in body:
        for column, cell in zip(header, row, strict=True):
            if column in ("true_index", "prediction_index", "probability", "true_class_probability"):
                float(cell)  # numbers are written as numbers
            elif cell == "-7":
                pass  # a plain negative number (label, class name) is not a formula
            else:
                assert not cell.startswith(FORMULA_STARTS), (column, cell)
    by_label = {row[header.index("label")]: row for row in body}
    assert set(by_label) == {"'=1+1", "-7", "'@SUM(A1)", "'+cmd"}
    assert by_label["'=1+1"][header.index("true_class")] == "'=1+1"
    assert by_label["-7"][header.index("path")] == "'-7/-2+3.png"
    assert by_label["'@SUM(A1)"][header.index("path")] == "'@SUM(A1)/@x.png"
    assert by_label["-7"][header.index("true_class")] == "-7" and by_label["-7"][header.index("true_index")] == "1"
