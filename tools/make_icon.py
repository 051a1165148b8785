"""Draw the plugin icon, .claude-plugin/icon.png (512x512), with the standard library only.

Five staggered bars, like voices in a score. Run from the repository root:
``python tools/make_icon.py``. The output is deterministic.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIZE = 512
BACKGROUND = (24, 32, 48)
BARS = [(66, 135, 245), (94, 196, 160), (242, 183, 5), (230, 92, 79), (168, 120, 230)]


def _pixel(x: int, y: int) -> tuple[int, int, int]:
    margin, gap = 72, 16
    height = (SIZE - 2 * margin - 4 * gap) // 5
    for i, colour in enumerate(BARS):
        top = margin + i * (height + gap)
        left = margin + (i % 3) * 48
        right = SIZE - margin - ((i + 1) % 3) * 48
        if top <= y < top + height and left <= x < right:
            return colour
    return BACKGROUND


def png() -> bytes:
    rows = b"".join(b"\0" + bytes(c for x in range(SIZE) for c in _pixel(x, y))
                    for y in range(SIZE))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    Path(".claude-plugin/icon.png").write_bytes(png())
