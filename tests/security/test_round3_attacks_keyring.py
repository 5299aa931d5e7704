"""Round-three attack: the kernel keyrings of the server are open to sandboxed commands
(issue 12, independent pass).

The sandbox hides the file system, the network, processes and the environment, but
not the kernel's key retention service: bubblewrap starts the command in the
server's session keyring (``--new-session`` is setsid, not a new keyring) and
allows the ``keyctl``/``add_key``/``request_key`` system calls. Kerberos tickets
(``KEYRING:`` credential caches, the default of sssd and Fedora/RHEL), keys stored
with ``keyctl`` and the like are there. A hostile model's command searches the
keyrings and reads the key.
"""

from __future__ import annotations

import ctypes
import os
import secrets
from pathlib import Path

import pytest

from agentls.policy.sandbox import sandbox_available
from tests.security.round3_support import child_folder, full_auto, give_to_nobody, run_in_child

SYS_ADD_KEY = 248  # x86_64
SYS_KEYCTL = 250
KEYCTL_INVALIDATE = 21
SESSION = -3  # KEY_SPEC_SESSION_KEYRING

READER = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
for ring in (-3, -4, -5):
    key = libc.syscall(250, 10, ring, b"user", sys.argv[1].encode(), 0)  # KEYCTL_SEARCH
    if key > 0:
        buf = ctypes.create_string_buffer(512)
        n = libc.syscall(250, 11, key, buf, 512)  # KEYCTL_READ
        print("found in", ring, buf.raw[: max(n, 0)].decode(errors="replace"))
print("searched")
"""

pytestmark = [
    pytest.mark.skipif(not sandbox_available().available, reason="needs a working bubblewrap"),
    pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers of x86_64"),
]


def _add_key(description: str, secret: str, ring: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    data = secret.encode()
    key = int(libc.syscall(SYS_ADD_KEY, b"user", description.encode(), data, len(data), ring))
    if key < 0:
        pytest.skip(f"add_key: {os.strerror(ctypes.get_errno())}")
    return key


def _drop_key(key: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall(SYS_KEYCTL, KEYCTL_INVALIDATE, key)


async def test_a_command_cannot_read_the_servers_session_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "project"
    root.mkdir()
    (root / "reader.py").write_text(READER)
    description = f"agentls-canary-{secrets.token_hex(4)}"
    canary = f"KEYRING-CANARY-{secrets.token_hex(8)}"
    key = _add_key(description, canary, SESSION)
    try:
        said = await full_auto(root, f"python3 reader.py {description}")
        assert "searched" in said, said
        assert canary not in said
    finally:
        _drop_key(key)


PROBE = (
    "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
    "got = [libc.syscall(250, 0, ring, 0) for ring in (-3, -4, -5)]; "  # GET_KEYRING_ID
    "print('keyrings', got, ctypes.get_errno())"
)


@pytest.mark.parametrize("user", ["server's user", "nobody"])
def test_no_keyring_is_reachable_from_a_command(user: str) -> None:
    """Not the session keyring, nor the user's keyrings, as root and as an ordinary
    user: every keyring system call fails with EPERM in the sandbox."""
    if user == "nobody" and os.getuid() != 0:
        pytest.skip("needs root to become nobody")
    with child_folder("agentls-keyring-") as base:
        give_to_nobody(base)
        done = run_in_child(base, [f'python3 -c "{PROBE}"'], as_nobody=user == "nobody")
    assert "keyrings [-1, -1, -1] 1" in done.stdout, done.stdout + done.stderr
