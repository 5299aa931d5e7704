"""A seccomp filter that keeps sandboxed commands away from the kernel's keyrings.

bubblewrap hides files, network, processes and the environment, but a command still
possesses the server's session keyring and the user's keyrings (Kerberos tickets in
``KEYRING:`` caches, keys stored with ``keyctl``): it could search and read them. This
filter makes ``add_key``, ``request_key`` and ``keyctl`` fail with EPERM (as Docker's
default profile does), for every system call convention the machine runs (x86_64 also
runs i386 and x32 calls). It is a classic BPF program, written here without a library,
and handed to bubblewrap with ``--seccomp FD`` (bubblewrap sets no_new_privs).
"""

from __future__ import annotations

import errno
import os
import struct

# struct seccomp_data: int nr; __u32 arch; ...
_NR, _ARCH = 0, 4
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000  # SECCOMP_RET_ALLOW
_DENY = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO | EPERM
_X32 = 0x40000000

# audit arch -> (add_key, request_key, keyctl)
_X86_64 = 0xC000003E
_I386 = 0x40000003
_AARCH64 = 0xC00000B7
_ARM = 0x40000028
KEY_CALLS: dict[str, dict[int, tuple[int, ...]]] = {
    "x86_64": {
        _X86_64: (248, 249, 250, 248 | _X32, 249 | _X32, 250 | _X32),
        _I386: (286, 287, 288),
    },
    "aarch64": {_AARCH64: (217, 218, 219), _ARM: (309, 310, 311)},
}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def keyring_filter(machine: str | None = None) -> bytes | None:
    """The filter's program for this machine (None: its system call numbers are not
    known here; then commands keep the keyrings, logged by the caller)."""
    calls = KEY_CALLS.get(machine or os.uname().machine)
    if calls is None:
        return None
    blocks: list[list[bytes]] = []
    for numbers in calls.values():
        block = [_op(_LD_W_ABS, _NR)]
        for i, number in enumerate(numbers):
            left = len(numbers) - i - 1  # the JEQs after this one, then RET ALLOW
            block.append(_op(_JEQ_K, number, jt=left + 1, jf=0))
        block += [_op(_RET_K, _ALLOW), _op(_RET_K, _DENY)]
        blocks.append(block)
    # Dispatch on the architecture: a JEQ per known one, jumping to its block.
    head_length = 1 + len(calls) + 1  # LD arch, the JEQs, RET ALLOW (other arches)
    program = [_op(_LD_W_ABS, _ARCH)]
    offset = head_length
    for i, arch in enumerate(calls):
        here = 1 + i  # this JEQ's index
        program.append(_op(_JEQ_K, arch, jt=offset - here - 1, jf=0))
        offset += len(blocks[i])
    program.append(_op(_RET_K, _ALLOW))
    for block in blocks:
        program += block
    return b"".join(program)
