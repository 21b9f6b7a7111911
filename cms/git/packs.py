"""Objects written as one pack instead of one file each: what a bulk write (`cms import`)
uses, because a loose object costs a file create and a rename, about a millisecond each on
ext4, and an article's commit writes five of them.

A pack is git's own format (version 2): a header, each object zlib-compressed after its type
and size, a SHA-1 trailer; `git index-pack` checks it and writes its index beside it in
`objects/pack`, after which every git reader finds the objects.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator

from cms.git.objects import fsync_path

TYPES = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}


def object_id(kind: str, data: bytes) -> str:
    """The id git gives an object of `kind` holding `data`."""
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def _header(kind: str, size: int) -> bytes:
    header = bytearray([(TYPES[kind] << 4) | (size & 0x0F)])
    size >>= 4
    while size:
        header[-1] |= 0x80
        header.append(size & 0x7F)
        size >>= 7
    return bytes(header)


def chunks(objects: dict[str, tuple[str, bytes]]) -> Iterator[bytes]:
    """A version 2 pack of `objects` (id -> (kind, data)), whole objects, no deltas, as the
    pieces to write one after the other (the last is the SHA-1 trailer): a pack is never
    held whole in memory beside the objects it is made of."""
    digest = hashlib.sha1()
    for part in _parts(objects):
        digest.update(part)
        yield part
    yield digest.digest()


def _parts(objects: dict[str, tuple[str, bytes]]) -> Iterator[bytes]:
    yield b"PACK" + struct.pack(">II", 2, len(objects))
    for kind, data in objects.values():
        yield _header(kind, len(data)) + zlib.compress(data, 1)


def write(git_dir: str, objects: dict[str, tuple[str, bytes]], *, durable: bool = False) -> None:
    """Add `objects` to the repository at `git_dir` as one pack (nothing when there are none),
    streamed to `git index-pack --stdin` as it is made.

    Raises OSError when git cannot write it.
    """
    if not objects:
        return
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            ["git", "--git-dir", git_dir, "index-pack", "--stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for part in chunks(objects):
                proc.stdin.write(part)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # git stopped reading: its exit status and message say why
        out = proc.stdout.read()
        proc.stdout.close()
        if proc.wait() != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace")
            raise OSError(0, f"git index-pack failed: {message}")
    if durable:
        name = out.decode().split()[-1]
        folder = os.path.join(git_dir, "objects", "pack")
        for suffix in (".pack", ".idx"):
            fsync_path(os.path.join(folder, f"pack-{name}{suffix}"))
        fsync_path(folder)
