"""A command's output as it comes: the first and last bytes kept, the middle counted
and replaced by a note."""

from __future__ import annotations

import asyncio


class OutputCapture:
    """Output as it comes: the first and last bytes kept, the middle counted."""

    def __init__(self, head: int, tail: int) -> None:
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lines = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.lines += chunk.count(b"\n")
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.feed(chunk)

    def text(self) -> tuple[str, int]:
        head, tail = bytes(self.head), bytes(self.tail)
        cut = self.total - len(head) - len(tail)
        if cut <= 0:
            return decode(head + tail), 0
        # Cut at line ends where there is one near the edge.
        end = head.rfind(b"\n", max(0, len(head) - 2000))
        if end >= 0:
            cut += len(head) - end - 1
            head = head[: end + 1]
        start = tail.find(b"\n", 0, 2000)
        if start >= 0:
            cut += start + 1
            tail = tail[start + 1 :]
        lines = max(0, self.lines - head.count(b"\n") - tail.count(b"\n"))
        note = f"… ({cut} bytes, {lines} lines of output cut here) …\n"
        if not head.endswith(b"\n"):
            note = "\n" + note
        return decode(head) + note + decode(tail), cut


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
