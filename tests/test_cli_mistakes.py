"""`python -m interpret mistakes PATH`: accuracy, confusion pairs, confident mistakes, CSV and JSON."""
import csv
import json

from interpret.cli import main
from interpret.mistakes import DEMO_LABELS
from test_mistakes_zip import CAT, COFFEE, make_zip


def test_demo_set_as_json_with_csv(tmp_path, capsys):
    out = tmp_path / "results.csv"
    assert main(["mistakes", "demo", "--json", "--csv", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 3 * len(DEMO_LABELS) and report["complete"]
    assert 0 < report["top1"] < 1 and report["top5"] >= report["top1"]
    assert sum(p["count"] for p in report["confusion_pairs"]) == len(report["mistakes"]) > 0
    probs = [m["probability"] for m in report["mistakes"]]
    assert probs == sorted(probs, reverse=True)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == report["images"]
    assert sum(r["correct"] == "True" for r in rows) == round(report["top1"] * len(rows))


def test_progress_bar_goes_to_stderr_and_json_stays_clean(tmp_path, capsys):
    archive = tmp_path / "set.zip"
    archive.write_bytes(make_zip({"espresso/a.png": COFFEE, "tabby/b.png": CAT}))
    assert main(["mistakes", str(archive), "--json", "--batch-size", "1"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""  # stderr is not a terminal here: no bar unless asked
    assert main(["mistakes", str(archive), "--json", "--batch-size", "1", "--progress"]) == 0
    shown = capsys.readouterr()
    assert "Evaluating set.zip" in shown.err and "100%" in shown.err
    assert json.loads(shown.out) == json.loads(quiet.out)


def test_text_report_of_a_zip_names_left_out_labels(tmp_path, capsys):
    archive = tmp_path / "set.zip"
    archive.write_bytes(make_zip({"espresso/a.png": COFFEE, "tabby/b.png": CAT, "kitty/c.png": CAT, "notes.txt": b"x"}))
    assert main(["mistakes", str(archive), "--top", "5"]) == 0
    text = capsys.readouterr().out
    assert "2 images" in text and "top-1" in text
    assert "'kitty' matches no class" in text and "1 not images" in text
    assert "most confident mistakes" in text


def test_bad_paths_and_arguments_are_one_line_errors(tmp_path, capsys):
    assert main(["mistakes", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neither a folder" in err and "Traceback" not in err
    assert main(["mistakes", "demo", "--batch-size", "0"]) == 2
    assert "--batch-size" in capsys.readouterr().err
