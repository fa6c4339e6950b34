"""Recognising disk image formats from their bytes, as the DVP importer does.

`ImageSniffer` is fed the downloaded stream chunk by chunk; it undoes gz/xz compression
on the fly and keeps only the head of the image, which is where every format says what it is.
"""

import lzma
import struct
import zlib
from dataclasses import dataclass

ISO_MAGIC_OFFSET = 0x8001
_HEAD_BYTES = ISO_MAGIC_OFFSET + 5

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
QCOW2_MAGIC = b"QFI\xfb"
VMDK_MAGIC = b"KDMV"
VDI_SIGNATURE = 0xBEDA107F


@dataclass
class ImageInfo:
    format: str
    cdrom: bool
    virtual_size: int | None  # the disk size the format declares, if it declares one


def detect(head: bytes, total_length: int | None = None) -> ImageInfo:
    """Identify an (uncompressed) image from its first bytes."""
    if head[:4] == QCOW2_MAGIC and len(head) >= 32:
        (size,) = struct.unpack(">Q", head[24:32])
        return ImageInfo("qcow2", False, size)
    if head[:4] == VMDK_MAGIC and len(head) >= 20:
        (sectors,) = struct.unpack("<Q", head[12:20])
        return ImageInfo("vmdk", False, sectors * 512)
    if len(head) >= 0x178 and struct.unpack("<I", head[0x40:0x44])[0] == VDI_SIGNATURE:
        (size,) = struct.unpack("<Q", head[0x170:0x178])
        return ImageInfo("vdi", False, size)
    if head[ISO_MAGIC_OFFSET:ISO_MAGIC_OFFSET + 5] == b"CD001":
        return ImageInfo("iso", True, total_length)
    return ImageInfo("raw", False, total_length)


class ImageSniffer:
    """Streaming detector: feed() the bytes as they arrive, then finish()."""

    def __init__(self):
        self.stored_bytes = 0
        self.unpacked_bytes = 0
        self.compression: str | None = None
        self._decoder = None
        self._started = False
        self._pending = b""
        self._head = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.stored_bytes += len(chunk)
        if not self._started:
            self._pending += chunk
            if len(self._pending) < len(XZ_MAGIC):
                return
            self._start(self._pending)
            chunk, self._pending = self._pending, b""
        self._take(self._decode(chunk))

    def finish(self) -> ImageInfo:
        if not self._started:
            self._start(self._pending)
            self._take(self._decode(self._pending))
        if self.compression == "gz":
            self._take(self._decoder.flush())
        info = detect(bytes(self._head), self.unpacked_bytes)
        if info.virtual_size is None:
            info.virtual_size = self.unpacked_bytes
        return info

    def _start(self, first: bytes) -> None:
        self._started = True
        if first.startswith(GZIP_MAGIC):
            self.compression = "gz"
            self._decoder = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header
        elif first.startswith(XZ_MAGIC):
            self.compression = "xz"
            self._decoder = lzma.LZMADecompressor()

    def _decode(self, chunk: bytes) -> bytes:
        if self._decoder is None:
            return chunk
        try:
            return self._decoder.decompress(chunk)
        except (zlib.error, lzma.LZMAError) as exc:
            raise ValueError(f"corrupted {self.compression} stream: {exc}") from exc

    def _take(self, data: bytes) -> None:
        self.unpacked_bytes += len(data)
        if len(self._head) < _HEAD_BYTES:
            self._head += data[: _HEAD_BYTES - len(self._head)]
