"""A new virtual environment that sees the packages of the interpreter running the tests.

`python -m venv --system-site-packages` shows the *base* interpreter's packages: run from inside a virtual
environment (as README advises), the new one sees neither torch nor anything else installed there. A `.pth`
file that adds this interpreter's own site folders (with `site.addsitedir`, so their `.pth` files run too, as
they do for system site packages) works the same inside a virtual environment and outside one.
"""
from __future__ import annotations

import site
import sysconfig
import venv
from pathlib import Path

PTH_NAME = "_outer_site_packages.pth"


def outer_site_folders() -> list[str]:
    """The site-packages folders of the running interpreter (a virtual environment's, then its base's if it sees them)."""
    folders = [*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    return list(dict.fromkeys(str(Path(f).resolve()) for f in folders if Path(f).is_dir()))


def site_packages(env_dir: Path) -> Path:
    """The purelib folder of the virtual environment at `env_dir`."""
    return Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))


def create_seeing_outer_packages(env_dir: Path) -> Path:
    """Create a venv without pip at `env_dir` whose Python also imports this interpreter's packages; return its Python.

    Its own site-packages come first, so a package installed into it shadows the outer one.
    """
    venv.EnvBuilder(clear=True, with_pip=False).create(env_dir)
    lines = [f"import site; site.addsitedir({folder!r})" for folder in outer_site_folders()]
    target = site_packages(env_dir)
    target.mkdir(parents=True, exist_ok=True)
    (target / PTH_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env_dir / "bin" / "python"
