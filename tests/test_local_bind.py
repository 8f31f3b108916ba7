"""Local by default, checked by starting it: `streamlit run app.py` with only the repository's config listens
on 127.0.0.1 and nowhere else (read from the kernel's socket tables, /proc/net/tcp and tcp6)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_support import free_port, streamlit_server

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's state column


def _ipv4(hex_address: str) -> str:
    """/proc/net/tcp's little-endian hex address as dotted quads."""
    return ".".join(str(int(hex_address[i:i + 2], 16)) for i in (6, 4, 2, 0))


def listening_addresses(port: int) -> set[str]:
    """Every local address with a socket listening on `port` (IPv6 ones as their raw hex)."""
    found = set()
    for table, is_v4 in (("/proc/net/tcp", True), ("/proc/net/tcp6", False)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == LISTEN and int(port_hex, 16) == port:
                found.add(_ipv4(address) if is_v4 else f"ipv6:{address}")
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_the_app_listens_on_loopback_only(tmp_path):
    port = free_port()
    env = dict(os.environ, HOME=str(tmp_path))  # no ~/.streamlit config of this machine's user
    env.pop("INTERPRET_SHARED", None)
    for name in list(env):
        if name.startswith("STREAMLIT_"):  # settings from the environment would override the config file
            env.pop(name)
    # only the port (and headless, so it opens no browser) on the command line: the address comes from the config
    with streamlit_server(options=("--server.headless", "true"), env=env, port=port):
        assert listening_addresses(port) == {"127.0.0.1"}


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_the_check_sees_an_app_served_to_every_interface():
    """The reading above can fail: serving on purpose (README's 'Serving it to others') shows as 0.0.0.0."""
    port = free_port()
    with streamlit_server(options=("--server.headless", "true", "--server.address", "0.0.0.0"), port=port):
        assert listening_addresses(port) == {"0.0.0.0"}
