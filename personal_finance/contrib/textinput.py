"""Reading a text input (a CSV file, an upload, bytes or text) into one string, and the one error
type every text reader raises. No Django: the pure engines (``tax.engine``,
``data_profiler.checks``, ``data_sources.price_csv``) read their files with it.

``read_text(source, max_bytes=None, name=None, error=TextInputError)``:

- ``source`` is a path (``os.PathLike``), ``bytes``, a ``str`` (text, already decoded) or a
  file-like object with ``read()`` (binary or text; an upload's ``size`` and ``name`` are used);
- an input larger than ``max_bytes`` is refused before it is read when its size is known (a path,
  ``bytes``, an upload's ``size``); otherwise no more than ``max_bytes + 1`` bytes are read;
- the bytes are decoded as UTF-8, with or without a byte-order mark; an undecodable byte is
  reported at its row (the header is row 0, the first row after it row 1) and, when the header
  names it, its column;
- an empty (or whitespace-only) input is refused.

Every failure raises ``error`` (``TextInputError`` or a domain subclass), so a caller catches one
type. ``reason`` tells which check failed and ``details`` holds the values of its message.
"""

from __future__ import annotations

import codecs
import csv
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, ClassVar, TypeAlias, TypeVar

__all__ = [
    "EMPTY",
    "TOO_LARGE",
    "UNDECODABLE",
    "UNREADABLE",
    "TextInputError",
    "TextSource",
    "read_text",
    "source_name",
]

UNREADABLE = "unreadable"
TOO_LARGE = "too_large"
EMPTY = "empty"
UNDECODABLE = "undecodable"

_BOM = "\ufeff"
_MB = 1_048_576

# What ``read_text`` reads: text, bytes, a path, or a binary or text file object (an upload).
TextSource: TypeAlias = str | bytes | os.PathLike[str] | IO[bytes] | IO[str]


class TextInputError(ValueError):
    """Bad text input. ``row`` is the data row (1 = the first row after the header, 0 = the header),
    ``column`` the column name when known, ``source`` the file name. ``str()`` reads
    ``"FILE, row N, column 'X': message"`` (the parts that are known).

    ``reason`` is one of ``UNREADABLE``, ``TOO_LARGE``, ``EMPTY``, ``UNDECODABLE`` when ``read_text``
    raised it (None when a parser did), and ``details`` holds the values its message was made from:
    ``error``; ``size``, ``size_mb``, ``limit``, ``limit_mb``; ``offset``, ``byte``, ``line``.
    A domain subclass may reword those messages (``messages``) and place the errors about the
    whole file at a row (``file_row``).
    """

    messages: ClassVar[dict[str, str]] = {
        UNREADABLE: "cannot read file: {error}",
        TOO_LARGE: "the file is {size_mb}; the limit is {limit_mb}",
        EMPTY: "the file is empty",
        UNDECODABLE: "not UTF-8 text (byte {offset}); save the file as UTF-8",
    }
    file_row: ClassVar[int | None] = None

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        row: int | None = None,
        column: str | None = None,
        reason: str | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.column = column
        self.reason = reason
        self.details = details or {}
        where = self.location()
        super().__init__(f"{where}: {message}" if where else message)

    def location(self) -> str:
        """``"FILE, row N, column 'X'"``: the parts that are known, or ``""``."""
        parts = (
            self.source,
            f"row {self.row}" if self.row is not None else "",
            f"column {self.column!r}" if self.column else "",
        )
        return ", ".join(p for p in parts if p)


E = TypeVar("E", bound="TextInputError")


def source_name(source: TextSource) -> str:
    """The name errors give an input: a file name as given (``str`` or path), else its ``name``
    attribute (an upload's file name), else ``"<upload>"``."""
    if isinstance(source, str | os.PathLike):
        return os.fsdecode(source)
    return getattr(source, "name", "") or "<upload>"


def read_text(
    source: TextSource,
    *,
    max_bytes: int | None = None,
    name: str | None = None,
    error: type[TextInputError] = TextInputError,
) -> str:
    """The input as text: size-checked, decoded (UTF-8, optional BOM) and not empty; else ``error``."""
    if name is None:
        name = "<text>" if isinstance(source, str) else source_name(source)
    if isinstance(source, str):
        if max_bytes is not None:
            _check_size(len(source.encode("utf-8", "surrogatepass")), max_bytes, name, error)
        text = source.removeprefix(_BOM)
    else:
        raw = _read_bytes(source, max_bytes, name, error)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:  # its position does not count the BOM
            offset = exc.start + (len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0)
            raise _undecodable(raw, offset, name, error) from None
    if not text or text.isspace():
        raise _fail(error, EMPTY, name)
    return text


def _fail(
    cls: type[E], reason: str, name: str, *, row: int | None = None, column: str | None = None, **details: object
) -> E:
    """The ``reason`` error of ``cls``, at ``row`` (else the class's ``file_row``) and ``column``."""
    row = row if row is not None else cls.file_row
    message = cls.messages[reason].format(**details)
    return cls(message, source=name, row=row, column=column, reason=reason, details=details)


def _check_size(size: int | None, max_bytes: int | None, name: str, error: type[TextInputError]) -> None:
    """Refuse ``size`` bytes over ``max_bytes``; ``None`` is a size known only to exceed it."""
    if max_bytes is None or (size is not None and size <= max_bytes):
        return
    limit_mb = f"{max_bytes / _MB:.1f} MB"
    size_mb = f"{size / _MB:.1f} MB" if size is not None else f"more than {limit_mb}"
    raise _fail(error, TOO_LARGE, name, size=size, size_mb=size_mb, limit=max_bytes, limit_mb=limit_mb)


@contextmanager
def _reading(name: str, error: type[TextInputError]) -> Iterator[None]:
    """Turn an I/O failure into ``error`` (a ValueError is a closed file or a text file that does
    not decode)."""
    try:
        yield
    except (OSError, ValueError) as exc:
        raise _fail(error, UNREADABLE, name, error=getattr(exc, "strerror", None) or exc) from None


def _read_bytes(
    source: bytes | os.PathLike[str] | IO[bytes] | IO[str],
    max_bytes: int | None,
    name: str,
    error: type[TextInputError],
) -> bytes:
    """The bytes of a path, bytes or file-like: refused over ``max_bytes`` before reading when the
    size is known, and never more than ``max_bytes + 1`` of them read."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), max_bytes, name, error)
        return data
    raw: bytes | str  # a file opened in text mode reads str
    if isinstance(source, os.PathLike):
        if max_bytes is not None:
            with _reading(name, error):
                info = os.stat(source)
            if stat.S_ISREG(info.st_mode):  # not a directory's or a pipe's
                _check_size(info.st_size, max_bytes, name, error)
        with _reading(name, error), open(source, "rb") as fh:
            raw = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    elif callable(getattr(source, "read", None)):
        size = getattr(source, "size", None)  # an upload's
        if isinstance(size, int):
            _check_size(size, max_bytes, name, error)
        with _reading(name, error):
            raw = source.read() if max_bytes is None else source.read(max_bytes + 1)
    else:
        raise TypeError(f"read_text takes a path, bytes, str or a file object, not {type(source).__name__}")
    if isinstance(raw, str):  # a file opened in text mode
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, bytes | bytearray):
        raise TypeError(f"{name}: read() returned {type(raw).__name__}, not bytes or str")
    if max_bytes is not None and len(raw) > max_bytes:
        _check_size(None, max_bytes, name, error)  # the read stopped at max_bytes + 1
    return bytes(raw)


def _undecodable(raw: bytes, offset: int, name: str, error: type[E]) -> E:
    """The error for the first byte that is not UTF-8, at its row and (under a header cell) column.
    Everything before ``offset`` is valid UTF-8, so the header and the start of the row decode."""
    row = raw.count(b"\n", 0, offset)
    column = None
    if row > 0:
        header = _cells(raw[: raw.index(b"\n")].decode("utf-8-sig"))
        line_start = raw.rindex(b"\n", 0, offset) + 1
        index = max(len(_cells(raw[line_start:offset].decode("utf-8"))) - 1, 0)
        if index < len(header):
            column = header[index].strip() or None
    byte = raw[offset : offset + 1]
    return _fail(error, UNDECODABLE, name, row=row, column=column, offset=offset, byte=byte, line=row + 1)


def _cells(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:  # e.g. a carriage return inside the line: no column then
        return []
