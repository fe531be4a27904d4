"""Reading a file an operator names (a config, a certificate, a key), never
hanging and never unbounded.

`open()` of a FIFO (named pipe) waits for a writer, forever: a FIFO given as
a web config's cert_file hung that reload and every later one. So the file
is opened with O_NONBLOCK (a FIFO opens at once), checked by fstat on that
very descriptor to be a regular file (symlinks to one are fine: certbot's
live/ folder is made of them), and read only up to a size cap; whatever
else is there (a FIFO, a device, a socket, a folder) is refused with a
one-line reason.

A library that opens the path itself afterwards (ssl.load_cert_chain) reads
what the check saw unless the path is swapped in between: that takes write
access to the folder, which is the certificate's owner's anyway.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MIB = 1024 * 1024


class FileReadError(ValueError):
    """A file that cannot be read as a bounded regular file: `reason` is a
    short phrase ("No such file or directory", "a FIFO (named pipe), not a
    regular file", "larger than 1 MiB"), naming neither the file (the
    caller does, with what it was for) nor any of its bytes."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes`; else
    FileReadError saying why (missing, unreadable, not a regular file, too
    large). Never blocks on a FIFO, never reads past the cap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileReadError(path, exc.strerror or type(exc).__name__) from None
    except ValueError:  # a NUL in the path
        raise FileReadError(path, "not a valid path") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):  # in the words read() of a folder gives
            raise FileReadError(path, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            raise FileReadError(path, f"{_kind(mode)}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:  # one byte past the cap tells "too large" (a file growing as it is read too)
            chunk = os.read(fd, min(MIB, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise FileReadError(path, f"larger than {_size(max_bytes)}")
        return b"".join(chunks)
    except OSError as exc:
        raise FileReadError(path, exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)


def check_regular_file(path: Path, max_bytes: int) -> None:
    """That `path` is a regular file of at most `max_bytes` that can be
    read (FileReadError when not), before a library opens it itself."""
    read_regular_file(path, max_bytes)


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count:,} bytes"
