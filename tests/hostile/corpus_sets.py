"""Labelled sets (the Mistakes page): zip bombs, hostile member names, CSV traps, local folders with non-files.

API: `open_zip(data, name)` / `open_path(path)`, then `evaluate(bundled, set)`; the results CSV through
`to_csv`. CLI: `mistakes PATH --json [--csv FILE]`. Labels are folder names the bundled model knows.
"""
from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

from . import files as F
from .cases import ACCEPT, EITHER, REFUSE, Case, Env
from .helpers import fifo, link_to, sparse, special
from .zipwriter import Member, build_zip, deflated, stored, zeros

CATEGORY = "sets"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _jpeg(sample: str) -> bytes:
    return F.photo_bytes("JPEG", (96, 72), sample)


def good_members() -> list[Member]:
    return [stored("espresso/cup.jpg", _jpeg("coffee")), stored("tabby/cat.jpg", _jpeg("chelsea"))]


def _evaluate(image_set, env: Env):
    from interpret.mistakes import evaluate

    return evaluate(env.lm, image_set, batch_size=8)


def _zip_api(built, env: Env):
    from interpret.mistakes import open_zip

    return _evaluate(open_zip(built["data"], built["name"]), env)


def _path_api(built, env: Env):
    from interpret.mistakes import open_path

    return _evaluate(open_path(built["path"]), env)


def _cli(built) -> list[str]:
    return ["mistakes", built["path"], "--json"]


def evaluated(ok: int, skipped: str | None = None):
    """Accepted: every image evaluated, `ok` of them decoded, and (if given) something skipped for `skipped`."""

    def check(ev, built) -> None:
        from interpret.mistakes.evaluate import OK

        assert ev.complete, "the evaluation did not finish"
        decoded = int((ev.status == OK).sum())
        assert decoded == ok, f"{decoded} images evaluated, expected {ok} (errors: {list(ev.errors.values())[:2]})"
        if skipped is not None:
            assert any(skipped in reason for reason in ev.skipped), f"nothing skipped as {skipped!r}: {list(ev.skipped)}"

    return check


def summarised(ok: int):
    def check(stdout: str, stderr: str, built) -> None:
        from .helpers import no_nan_json

        report = no_nan_json(stdout)
        assert report["images"] == ok, f"{report['images']} images in the report, expected {ok}"

    return check


IN_CSV = ("labels.csv",)  # a problem inside the archive's CSV: the message names the member


def _all_failed(count: int):
    """Accepted: the set is read, and each of its `count` images is reported as unreadable, with a reason."""

    def check(ev, built) -> None:
        assert ev.complete and len(ev.errors) == count, f"{len(ev.errors)} images reported unreadable, expected {count}"

    return check


def _reported_unreadable(count: int):
    def check(stdout: str, stderr: str, built) -> None:
        from .helpers import no_nan_json

        report = no_nan_json(stdout)
        assert len(report["unreadable"]) == count, f"{len(report['unreadable'])} unreadable in the report, expected {count}"

    return check


def _zip_case(id, members, expect, cli=True, check=None, check_cli=None, name=None, mentions=("{name}",), **kw) -> Case:
    name = name or f"{id}.zip"

    def build(folder: Path):
        data = members()
        data = build_zip(data) if isinstance(data, list) else data
        path = folder / name
        path.write_bytes(data)
        return {"path": str(path), "name": name, "data": data}

    return Case(id=f"sets/zip-{id}", category=CATEGORY, build=build, expect=expect, api=_zip_api,
                cli=_cli if cli else None, check=check, check_cli=check_cli, mentions=mentions if expect != ACCEPT else (),
                **kw)


def _folder_case(id, make, expect, check=None, check_cli=None, name="set", cli=True, **kw) -> Case:
    def build(folder: Path):
        path = folder / name
        path.mkdir()
        for member in good_members():
            (path / member.name).parent.mkdir(parents=True, exist_ok=True)
            (path / member.name).write_bytes(member.raw)
        make(path)
        return {"path": str(path), "name": name}

    return Case(id=f"sets/folder-{id}", category=CATEGORY, build=build, expect=expect, api=_path_api,
                cli=_cli if cli else None, check=check, check_cli=check_cli, mentions=("{name}",) if expect != ACCEPT else (),
                **kw)


def _with(extra):
    return lambda: good_members() + extra()


def _symlink(name: str, target: str) -> Member:
    return stored(name, target.encode(), mode=stat.S_IFLNK | 0o777)


def _encrypted(name: str) -> Member:
    m = stored(name, _jpeg("coffee"))
    return Member(m.name, m.raw, m.crc, m.size, m.method, m.mode, flags=1)


def _lying_size(name: str) -> Member:
    m = zeros(name, 10 * 2**20)
    return Member(m.name, m.raw, m.crc, 100, m.method)


def _method_99(name: str) -> Member:
    m = stored(name, _jpeg("coffee"))
    return Member(m.name, m.raw, m.crc, m.size, 99)


def _broken_directory() -> bytes:
    """A zip whose central directory records are overwritten with junk (the end record still points at them)."""
    data = bytearray(build_zip(good_members()))
    start, end = data.index(b"PK\x01\x02"), data.rindex(b"PK\x05\x06")
    data[start:end] = bytes([0xDE]) * (end - start)
    return bytes(data)


def _bad_directory() -> bytes:
    data = bytearray(build_zip(good_members()))
    end = data.rindex(b"PK\x05\x06")
    data[end + 16:end + 20] = (len(data) * 5).to_bytes(4, "little")
    return bytes(data)


def _csv_zip(rows: str | bytes, extra=()):
    return lambda: [stored("cup.jpg", _jpeg("coffee")), stored("cat.jpg", _jpeg("chelsea")),
                    deflated("labels.csv", rows.encode() if isinstance(rows, str) else rows), *extra]


def _big_csv(size: int) -> str:
    """A path,label CSV of about `size` bytes whose rows are all different (random hex names)."""
    import secrets

    row = len("espresso/0123456789abcdef0123456789abcdef.jpg,espresso\n")
    return "path,label\n" + "".join(f"espresso/{secrets.token_hex(16)}.jpg,espresso\n" for _ in range(size // row))


FORMULA_NAMES = ['=HYPERLINK("evil","click").jpg', "+cmd|' calc'!A0.jpg", "-2+3.jpg", "@SUM(1+1).jpg"]


def _formula_members(label: str = "espresso") -> list[Member]:
    rows = "path,label\n" + "".join(f'"{n.replace(chr(34), chr(34) * 2)}",{label}\n' for n in FORMULA_NAMES)
    return [stored(n, _jpeg("coffee")) for n in FORMULA_NAMES] + [stored("labels.csv", rows.encode())]


def _cells_escaped(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 1, "the results CSV holds no rows"
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), f"a formula cell is not escaped: {cell!r}"


def _formula_api(built, env: Env):
    from interpret.mistakes import open_zip, to_csv

    return to_csv(_evaluate(open_zip(built["data"], built["name"]), env))


def _formula_classes_api(built, env: Env):
    from interpret.mistakes import evaluate, open_zip, to_csv
    from interpret.models import load_model

    names = tuple("=cmd|' /C calc'!A0" if i == 967 else f"@class {i}" for i in range(1000))
    lm = load_model("bundled:efficientnet_lite0", class_names=names)
    return to_csv(evaluate(lm, open_zip(built["data"], built["name"]), batch_size=8))


def _csv_out_cli(built) -> list[str]:
    return ["mistakes", built["path"], "--json", "--csv", str(Path(built["path"]).with_name("results.csv"))]


def _csv_file_escaped(stdout: str, stderr: str, built) -> None:
    _cells_escaped(Path(built["path"]).with_name("results.csv").read_text("utf-8"))


def _mknod(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # /dev/zero's numbers


def _mknod_skip() -> str | None:
    import tempfile

    probe = Path(tempfile.mkdtemp()) / "probe"
    try:
        _mknod(probe)
    except (PermissionError, OSError):
        return "creating a character device needs CAP_MKNOD"
    finally:
        probe.unlink(missing_ok=True)
        probe.parent.rmdir()
    return None


def _nested(depth: int):
    def make(path: Path) -> None:
        deep = str(path)
        for _ in range(depth):  # one level at a time: os.makedirs recurses once per level
            deep += "/d"
            os.mkdir(deep)
        os.mkdir(deep + "/espresso")
        Path(deep, "espresso", "deep.jpg").write_bytes(_jpeg("coffee"))

    return make


def _remove_nested(built, result) -> None:
    """Remove the 'd/d/...' chain deepest first: shutil.rmtree (pytest's clean-up of old runs) recurses once per level
    and would fail on it."""
    deep = Path(built["path"], *["d"] * 1100)
    (deep / "espresso" / "deep.jpg").unlink()
    (deep / "espresso").rmdir()
    while deep != Path(built["path"]):
        deep.rmdir()
        deep = deep.parent


def _non_utf8_member(path: Path) -> None:
    with open(os.path.join(os.fsencode(path), b"espresso", b"\xff\xfe.jpg"), "wb") as file:
        file.write(_jpeg("coffee"))


def _csv_of_folder(built) -> list[str]:
    return ["mistakes", built["path"], "--json", "--csv", str(Path(built["path"]).parent / "results.csv")]


def _csv_path_escaped(stdout: str, stderr: str, built) -> None:
    with open(Path(built["path"]).parent / "results.csv", encoding="utf-8") as file:
        paths = sorted(row["path"] for row in csv.DictReader(file))
    assert "espresso/\\xff\\xfe.jpg" in paths, f"the undecodable name is not written escaped: {paths}"


ZIPS = [
    _zip_case("bomb-80-members-of-50mb", lambda: good_members() + [zeros(f"espresso/z{i}.png", 50_000_000) for i in range(80)],
              REFUSE, why="a 4 MB zip that inflates to 4 GB"),
    _zip_case("one-member-4gb", lambda: good_members() + [zeros("espresso/big.png", 4_000_000_000)], EITHER,
              check=evaluated(2, "too large"), check_cli=summarised(2), seconds=15),
    _zip_case("40-members-of-49mp", lambda: [stored(f"espresso/{i}.png", F.png_zeros(7000, 7000)) for i in range(40)],
              EITHER, check=evaluated(40), check_cli=summarised(40), seconds=15,
              why="240 KB of PNGs that decode to 2 gigapixels"),
    _zip_case("path-traversal-names", _with(lambda: [stored(n, _jpeg("coffee")) for n in (
        "../../etc/passwd.jpg", "/etc/espresso.jpg", "C:\\Windows\\espresso.jpg", "..\\..\\espresso\\x.jpg",
        "espresso/../../up.jpg")]), ACCEPT, check=evaluated(2, "unsafe"), check_cli=summarised(2)),
    _zip_case("symlink-member", _with(lambda: [_symlink("espresso/link.jpg", "/etc/passwd")]), ACCEPT,
              check=evaluated(2, "link"), cli=False),
    _zip_case("duplicate-names", _with(lambda: [stored("espresso/cup.jpg", _jpeg("chelsea"))]), EITHER,
              check=lambda ev, b: None, cli=False),
    _zip_case("nested-zip", _with(lambda: [stored("espresso/inner.zip", build_zip(good_members()))]), ACCEPT,
              check=evaluated(2), cli=False),
    _zip_case("central-directory-offset-past-end", _bad_directory, EITHER, check=_all_failed(2),
              check_cli=_reported_unreadable(2), why="BadZipFile traceback; refused, or every member reported as unreadable"),
    _zip_case("junk-central-directory", _broken_directory, REFUSE, why="BadZipFile: bad magic number"),
    _zip_case("empty-archive", lambda: [], REFUSE, cli=False),
    _zip_case("random-bytes", lambda: os.urandom(5000), REFUSE),
    _zip_case("truncated-archive", lambda: build_zip(good_members())[:3000], REFUSE, cli=False),
    _zip_case("encrypted-member", _with(lambda: [_encrypted("espresso/secret.jpg")]), ACCEPT, check=evaluated(2, "encrypted"),
              cli=False),
    _zip_case("60000-members", lambda: [stored(f"espresso/{i}.jpg", b"") for i in range(60_000)], REFUSE, cli=False),
    _zip_case("50000-empty-images", lambda: [stored(f"espresso/{i}.jpg", b"") for i in range(50_000)], EITHER, cli=False,
              check=_all_failed(50_000), seconds=20, why="at the member limit, every one unreadable: bounded time"),
    _zip_case("unknown-compression-method", _with(lambda: [_method_99("espresso/odd.jpg")]), EITHER, check=evaluated(2),
              cli=False),
    _zip_case("member-inflates-past-declared-size", _with(lambda: [_lying_size("espresso/liar.jpg")]), EITHER,
              check=evaluated(2), check_cli=summarised(2)),
    _zip_case("newline-in-member-name", _with(lambda: [stored("espresso/two\nlines.jpg", _jpeg("coffee"))]), EITHER,
              check=evaluated(3), cli=False),
    _zip_case("10000-char-member-name", _with(lambda: [stored("espresso/" + "n" * 10_000 + ".jpg", _jpeg("coffee"))]),
              EITHER, check=evaluated(3), cli=False),
    _zip_case("macos-junk-and-dotfiles", _with(lambda: [stored("__MACOSX/espresso/._cup.jpg", b"\0" * 100),
                                                         stored("espresso/.hidden.jpg", b"junk")]), ACCEPT,
              check=evaluated(2), cli=False),
    _zip_case("only-non-images", lambda: [stored("espresso/notes.txt", b"hi"), stored("readme.md", b"x")], REFUSE, cli=False),
    _zip_case("images-outside-class-folders", lambda: [stored("cup.jpg", _jpeg("coffee"))], REFUSE, cli=False),
    _zip_case("highly-compressible-member", _with(lambda: [zeros("espresso/flat.bmp", 20 * 2**20)]), EITHER,
              check=evaluated(2), cli=False),
    _zip_case("csv-field-over-131072", _csv_zip("path,label\ncup.jpg," + "x" * 200_000 + "\n"), REFUSE, mentions=IN_CSV,
              why="csv.Error traceback"),
    _zip_case("csv-unclosed-quote", _csv_zip('path,label\n"cup.jpg,espresso\ncat.jpg,tabby\n'), REFUSE, cli=False,
              mentions=IN_CSV),
    _zip_case("csv-nul-byte", _csv_zip(b"path,label\ncup.jpg,espr\x00esso\n"), REFUSE, cli=False),
    _zip_case("csv-not-utf8", _csv_zip(b"path,label\ncup.jpg,espresso\xff\xfe\n"), REFUSE, cli=False, mentions=IN_CSV),
    _zip_case("csv-30mb", _csv_zip(_big_csv(30 * 2**20)), REFUSE, cli=False, mentions=IN_CSV,
              why="over CSV_BYTES; its rows are distinct, so it deflates about 3:1 like a real one"),
    _zip_case("csv-traversal-paths", _csv_zip("path,label\ncup.jpg,espresso\n../../etc/passwd,tabby\n/etc/shadow,tabby\n"
                                              "cat.jpg,tabby\n"), ACCEPT, check=evaluated(2, "unsafe"), cli=False),
    _zip_case("two-csv-files", _csv_zip("path,label\ncup.jpg,espresso\n", extra=[stored("more.csv", b"path,label\n")]),
              REFUSE, cli=False),
    Case("sets/zip-formula-cells-in-paths", CATEGORY, _zip_case("f", _formula_members, ACCEPT).build, ACCEPT,
         api=_formula_api, cli=_csv_out_cli, check=lambda text, b: _cells_escaped(text), check_cli=_csv_file_escaped,
         mentions=(), why="=HYPERLINK(...) in a results CSV runs in a spreadsheet"),
    Case("sets/zip-formula-cells-in-class-names", CATEGORY, _zip_case("g", lambda: _formula_members("967"), ACCEPT).build,
         ACCEPT,
         api=_formula_classes_api, check=lambda text, b: _cells_escaped(text), mentions=(), seconds=15),
]

FOLDERS = [
    _folder_case("fifo-named-png", lambda p: fifo(p / "espresso" / "pipe.png"), ACCEPT, check=evaluated(2),
                 check_cli=summarised(2), why="reading it blocked mistakes forever"),
    _folder_case("link-to-dev-zero-named-png", lambda p: link_to("/dev/zero")(p / "espresso" / "zero.png"), ACCEPT,
                 check=evaluated(2), check_cli=summarised(2)),
    _folder_case("character-device-named-png", lambda p: _mknod(p / "espresso" / "zero.png"), ACCEPT,
                 check=evaluated(2), check_cli=summarised(2), skip=_mknod_skip),
    _folder_case("symlink-loop", lambda p: (p / "espresso" / "loop").symlink_to(p), ACCEPT, check=evaluated(2), cli=False),
    _folder_case("symlink-cycle-pair", lambda p: ((p / "a").symlink_to(p / "b"), (p / "b").symlink_to(p / "a")), ACCEPT,
                 check=evaluated(2), cli=False),
    _folder_case("broken-symlink", lambda p: (p / "espresso" / "gone.jpg").symlink_to(p / "nowhere.jpg"), ACCEPT,
                 check=evaluated(2), cli=False),
    _folder_case("sparse-10gb-png", lambda p: sparse(10 * 2**30)(p / "espresso" / "huge.png"), EITHER, check=evaluated(2),
                 check_cli=summarised(2)),
    _folder_case("200-levels-deep", _nested(200), EITHER, check=evaluated(3), cli=False),
    _folder_case("1100-levels-deep", _nested(1100), ACCEPT, check=evaluated(2, "levels deep"), check_cli=summarised(2),
                 after=_remove_nested, why="RecursionError: os.walk recursed once per level"),
    _folder_case("class-folder-named-superscript-two", lambda p: (p / "²").mkdir() or (p / "²" / "x.jpg").write_bytes(
        _jpeg("coffee")), ACCEPT, check=evaluated(2), check_cli=summarised(2),
                 why="'²'.isdigit() is true and int('²') raises ValueError"),
    Case("sets/folder-non-utf8-file-name-in-csv", CATEGORY, _folder_case("h", _non_utf8_member, ACCEPT).build, ACCEPT,
         cli=_csv_of_folder, check_cli=_csv_path_escaped, mentions=(),
         why="UnicodeEncodeError writing the results CSV"),
    _folder_case("folder-named-zip", lambda p: None, ACCEPT, check=evaluated(2), name="looks.zip", cli=False),
    Case("sets/path-plain-file", CATEGORY, special("notes.txt", lambda p: p.write_text("hello")), REFUSE, api=_path_api,
         cli=_cli),
    Case("sets/path-missing", CATEGORY, lambda folder: {"path": str(folder / "nowhere"), "name": "nowhere"}, REFUSE,
         api=_path_api, cli=_cli),
    Case("sets/path-fifo-named-zip", CATEGORY, special("set.zip", fifo), REFUSE, api=_path_api, cli=_cli),
    Case("sets/path-fifo-named-csv", CATEGORY, special("labels.csv", fifo), REFUSE, api=_path_api),
    _folder_case("csv-listing-fifo-and-traversal", lambda p: (
        fifo(p / "pipe.jpg"), (p / "labels.csv").write_text("path,label\nespresso/cup.jpg,espresso\npipe.jpg,tabby\n"
                                                            "../../../../etc/passwd,tabby\ntabby/cat.jpg,tabby\n")),
                 ACCEPT, check=evaluated(2), cli=False),
]

CASES: list[Case] = ZIPS + FOLDERS
