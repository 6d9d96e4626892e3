"""Uploaded files at rest: encrypted with the field-encryption keys (KEHU_FIELD_KEYS, MultiFernet, the
same keys as the archive's personal fields), in frames so that reading stays streaming and seekable
(openpyxl needs to seek in an XLSX) with one frame in memory. ORM-free.

Layout: ``MAGIC`` (8 bytes), the plaintext size (8 bytes, big-endian), then frames: a 4-byte length and
a Fernet token of ``FRAME`` plaintext bytes (the last frame shorter). Every full frame has the same
token length (Fernet's format is fixed for a given plaintext length), so a position maps to its frame
by arithmetic. A file without the magic is read as it is (files stored before encryption, temp files)."""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable
from pathlib import Path

from kehu.access.protection import fernet

MAGIC = b"KEHUENC1"
HEADER = len(MAGIC) + 8
FRAME = 1 << 20


def _token_len(n: int) -> int:
    raw = 1 + 8 + 16 + (n // 16 + 1) * 16 + 32
    return 4 * ((raw + 2) // 3)


FULL = 4 + _token_len(FRAME)


class EncryptingWriter:
    """Write plaintext in any chunks; frames are encrypted as they fill. ``close()`` writes the size."""

    def __init__(self, path: Path):
        self._fh = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._fh.write(MAGIC + b"\0" * 8)
        self._buf = bytearray()
        self._size = 0
        self._f = fernet()

    def write(self, data: bytes) -> None:
        self._buf += data
        self._size += len(data)
        while len(self._buf) >= FRAME:
            self._frame(bytes(self._buf[:FRAME]))
            del self._buf[:FRAME]

    def _frame(self, plain: bytes) -> None:
        token = self._f.encrypt(plain)
        self._fh.write(struct.pack(">I", len(token)) + token)

    def close(self) -> None:
        if self._buf:
            self._frame(bytes(self._buf))
            self._buf.clear()
        self._fh.seek(len(MAGIC))
        self._fh.write(struct.pack(">Q", self._size))
        self._fh.close()

    def abort(self) -> None:
        self._fh.close()


class DecryptingReader(io.RawIOBase):
    """A read-only, seekable binary stream over an encrypted file, one decrypted frame cached."""

    def __init__(self, path: Path):
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        head = self._fh.read(HEADER)
        if head[:len(MAGIC)] != MAGIC or len(head) != HEADER:
            self._fh.close()
            raise ValueError("not an encrypted upload")
        self.size = struct.unpack(">Q", head[len(MAGIC):])[0]
        self._pos = 0
        self._index = -1
        self._plain = b""
        self._f = fernet()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _load(self, index: int) -> None:
        if index == self._index:
            return
        self._fh.seek(HEADER + index * FULL)
        (length,) = struct.unpack(">I", self._fh.read(4))
        self._plain = self._f.decrypt(self._fh.read(length))
        self._index = index

    def readinto(self, buffer) -> int:
        if self._pos >= self.size:
            return 0
        index, start = divmod(self._pos, FRAME)
        self._load(index)
        piece = self._plain[start:start + len(buffer)]
        buffer[:len(piece)] = piece
        self._pos += len(piece)
        return len(piece)

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
            self._plain = b""
        super().close()


def is_encrypted(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def open_binary(path: Path) -> io.BufferedReader:
    """A buffered binary stream of the file's plaintext, whether it is stored encrypted or not."""
    if is_encrypted(path):
        return io.BufferedReader(DecryptingReader(path), buffer_size=1 << 16)
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(open_binary(path), encoding=encoding, newline="")


def encrypt_file(source: Path, target: Path) -> None:
    """Write ``source`` (plaintext) encrypted to ``target`` (a temporary name, replaced atomically)."""
    tmp = target.with_name(target.name + ".part")
    writer = EncryptingWriter(tmp)
    try:
        with open(source, "rb") as fh:
            while chunk := fh.read(FRAME):
                writer.write(chunk)
        writer.close()
    except BaseException:
        writer.abort()
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


def iter_plain(path: Path, size: int = FRAME) -> Iterable[bytes]:
    with open_binary(path) as fh:
        while chunk := fh.read(size):
            yield chunk
