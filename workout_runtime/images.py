"""Reading still images, refusing damaged ones instead of classifying what libjpeg could salvage.

A JPEG cut short still decodes (libjpeg fills the rest with grey and prints
an unattributed "Premature end of JPEG file"), so a truncated upload would be
classified as if whole. `read_image` checks that the file ends as its format
requires before decoding it.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from workout_runtime.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class ImageReadError(UserError):
    """An image could not be read; `path` and `reason` say which and why."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"Cannot read image '{self.path}': {reason}.")


def damage(data: bytes) -> str | None:
    """Why the bytes of a JPEG or PNG file are incomplete, or None if they end as the format requires."""
    if data[:3] == b"\xff\xd8\xff":
        # The end-of-image marker, possibly followed by padding some writers add.
        if b"\xff\xd9" not in data.rstrip(b"\x00\r\n \t")[-64:]:
            return "the JPEG is truncated (it lacks its end marker; a partial download or copy?)"
    elif data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-16:]:
        return "the PNG is truncated (it lacks its IEND chunk; a partial download or copy?)"
    return None


# Larger pictures are refused before decoding (phones take up to about 100 million pixels); smaller ones
# cannot show a person.
MAX_IMAGE_PIXELS = 120_000_000
MIN_IMAGE_SIDE = 32


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF, BMP or JPEG header without decoding the picture; None if not found."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"GIF8") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"BM") and len(data) >= 26:
        return abs(int.from_bytes(data[18:22], "little", signed=True)), abs(int.from_bytes(data[22:26], "little",
                                                                                          signed=True))
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = int.from_bytes(data[i + 2:i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
            i += 2 + length
    return None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as `(H, W, 3)` uint8 RGB.

    Raises:
        ImageReadError: missing, empty, not an image, or truncated.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "the file does not exist" if not path.exists() else "it is not a file")
    data = path.read_bytes()
    if not data:
        raise ImageReadError(path, "the file is empty (0 bytes)")
    reason = damage(data)
    if reason:
        raise ImageReadError(path, reason)
    size = header_size(data)
    if size is not None:  # refused before decoding: a 20000x20000 PNG would take 1.2 GB decoded
        width, height = size
        if width * height > MAX_IMAGE_PIXELS:
            raise ImageReadError(path, f"it is {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS / 1e6:.0f} "
                                       f"million read; shrink it first")
        if min(width, height) < MIN_IMAGE_SIDE:
            raise ImageReadError(path, f"it is {width}x{height} pixels, too small to show a person "
                                       f"(at least {MIN_IMAGE_SIDE} px a side)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(path, "it is not an image OpenCV can decode (or it is corrupt)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def collect_images(paths) -> list[Path]:
    """Image files among `paths`; folders are searched recursively, in sorted order."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS))
        else:
            found.append(path)
    return found
