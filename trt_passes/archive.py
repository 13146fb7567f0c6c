"""The zip container of a saved program, checked before anything reads what is inside it.

PyTorch's archive reader and Python's :mod:`zipfile` are different programs: where an archive is ambiguous they can
read different bytes for the same name, and then a check made with one proves nothing about what the other loads.
So an archive is accepted only when it is unambiguous:

* every entry name occurs once (with two copies of a name, zipfile reads the last and PyTorch another);
* the entries are back to back from the first byte of the file, each local header naming the entry its central
  directory record names, and the central directory follows the last one directly (no prefixed data, which the two
  readers resolve differently, and no bytes that belong to no entry);
* the end-of-directory record says one disk and the number of entries there are, and there are no comments
  (PyTorch's reader refuses multi-disk archives that zipfile reads; neither PyTorch nor :func:`save` writes comments);
* all entries lie under one top-level folder, as both PyTorch formats write them.

:func:`entry_digests` then reads every entry through zipfile, which verifies each CRC, and returns its size and
SHA-256 for the manifest to be checked against (:mod:`trt_passes.manifest`).
"""

from __future__ import annotations

import collections
import hashlib
import struct
import zipfile
from typing import IO

from trt_passes.backend.engine_record import ArtifactError

_LOCAL = struct.Struct("<4s5H3L2H")  # signature, version, flags, method, time, date, crc, sizes x2, name/extra length
_END = struct.Struct("<4s4H2LH")  # signature, disk, directory's disk, entries here, entries, size, offset, comment
_END64_LOCATOR = struct.Struct("<4sLQL")  # signature, directory's disk, offset of the zip64 end record, disks
_END64 = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions x2, disk, directory's disk, entries x2, size, offset
# signature, versions x2, flags, method, time, date, crc, sizes x2, lengths x3, disk, attributes x2, header offset
_DIRECTORY = struct.Struct("<4s6H3L5H2L")
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_ZIP64_EXTRA = 0x0001
_CHUNK = 1 << 20


def check_layout(z: zipfile.ZipFile, f: IO[bytes], where: str) -> str:
    """Refuse an ambiguous archive (see the module docstring); returns the entries' top-level folder."""
    infos = z.infolist()
    if not infos:
        raise ArtifactError("format", f"{where}: an empty archive, not a saved program")
    offset, size, ends_at = _directory_extent(f, len(infos), where)
    if offset != z.start_dir or offset + size != ends_at:
        raise ArtifactError("corrupt", f"{where}: the archive's directory is not where its end record says; the file "
                                       "is damaged or was altered (or has bytes in front), save the model again")
    _check_directory(f, infos, offset, size, where)
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset != end:
            raise ArtifactError("corrupt", f"{where}: {info.header_offset - end:+d} bytes that belong to no entry "
                                           f"before {info.filename!r}; the file is damaged or was altered, save the "
                                           "model again")
        end = _entry_end(info, f, where)
    if end != z.start_dir:
        raise ArtifactError("corrupt", f"{where}: {z.start_dir - end:+d} bytes that belong to no entry before the "
                                       "central directory; the file is damaged or was altered, save the model again")
    # After the layout: a damaged name shows there as a header that disagrees with the directory
    counts = collections.Counter(info.filename for info in infos)
    twice = sorted(name for name, n in counts.items() if n > 1)
    if twice:
        raise ArtifactError("unsafe", f"{where}: the archive holds more than one entry named {twice[0]!r}; readers "
                                      "disagree on which copy counts (a way to smuggle data past a check), so it is "
                                      "refused. Save the model again with trt_passes.save")
    tops = {info.filename.split("/", 1)[0] for info in infos}
    if len(tops) != 1 or any("/" not in info.filename for info in infos):
        raise ArtifactError("format", f"{where}: the entries are not all under one folder ({sorted(tops)[:3]}); not "
                                      "an archive PyTorch wrote")
    return tops.pop()


def _damaged(where: str, what: str) -> ArtifactError:
    return ArtifactError("corrupt", f"{where}: {what}; the file is damaged or was altered, save the model again")


def _directory_extent(f: IO[bytes], entries: int, where: str) -> tuple[int, int, int]:
    """``(offset, size, end)`` of the central directory from the end record(s), where ``end`` is the position the
    directory must end at: the end record (or the zip64 end record) must follow it directly."""
    f.seek(0, 2)
    file_size = f.tell()
    f.seek(max(0, file_size - _END.size - _END64_LOCATOR.size))
    tail = f.read()
    if len(tail) < _END.size or tail[-_END.size:][:4] != b"PK\x05\x06":
        raise _damaged(where, "the archive does not end with its end record (or has a comment)")
    _, disk, cd_disk, here, total, size, offset, comment = _END.unpack(tail[-_END.size:])
    ends_at = file_size - _END.size
    if len(tail) == _END.size + _END64_LOCATOR.size and tail[:4] == b"PK\x06\x07":
        _, z64_disk, z64_offset, disks = _END64_LOCATOR.unpack(tail[:_END64_LOCATOR.size])
        f.seek(z64_offset)
        record = f.read(_END64.size)
        if len(record) != _END64.size or record[:4] != b"PK\x06\x06" or z64_disk != 0 or disks != 1:
            raise _damaged(where, "the archive's zip64 end record is missing or names other disks")
        _, _, _, _, disk, cd_disk, here, total, size, offset = _END64.unpack(record)
        ends_at = z64_offset
    if (disk, cd_disk, here, total, comment) != (0, 0, entries, entries, 0):
        raise _damaged(where, f"the archive's end record is not one of a single-file archive of {entries} entries "
                              "without a comment")
    return offset, size, ends_at


def _check_directory(f: IO[bytes], infos: list[zipfile.ZipInfo], offset: int, size: int, where: str) -> None:
    """The directory is exactly its records, in zipfile's order and with the lengths zipfile read (for the last
    record, zipfile reads past a length that overshoots without noticing; PyTorch's reader refuses it)."""
    f.seek(offset)
    directory = f.read(size)
    at = 0
    for info in infos:
        header = directory[at:at + _DIRECTORY.size]
        if len(header) != _DIRECTORY.size or header[:4] != b"PK\x01\x02":
            raise _damaged(where, f"the archive's directory record of {info.filename!r} is damaged")
        name_length, extra_length, comment_length, disk = _DIRECTORY.unpack(header)[10:14]
        name = directory[at + _DIRECTORY.size:at + _DIRECTORY.size + name_length]
        if name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace") \
                or comment_length or disk or extra_length != len(info.extra):
            raise _damaged(where, f"the archive's directory record of {info.filename!r} is damaged")
        at += _DIRECTORY.size + name_length + extra_length
    if at != size:
        raise _damaged(where, "the archive's directory holds bytes that belong to no record")


def _entry_end(info: zipfile.ZipInfo, f: IO[bytes], where: str) -> int:
    """Where the entry's local header, data and data descriptor end."""
    f.seek(info.header_offset)
    header = f.read(_LOCAL.size)
    if len(header) != _LOCAL.size:
        raise ArtifactError("corrupt", f"{where}: the archive is truncated inside {info.filename!r}")
    signature, version, flags, method, _, _, crc, csize, size, name_length, extra_length = _LOCAL.unpack(header)
    name = f.read(name_length)
    extra = f.read(extra_length)
    sizes = (crc, csize, size) == (info.CRC, info.compress_size, info.file_size)
    stored = info.compress_type != zipfile.ZIP_STORED or info.compress_size == info.file_size
    if (signature != b"PK\x03\x04" or name.decode("utf-8", "replace") != info.filename or not stored
            or not (flags & 0x08 or sizes or _has_zip64(extra))
            or (version, flags, method) != (info.extract_version, info.flag_bits, info.compress_type)):
        raise ArtifactError("corrupt", f"{where}: the local header of {info.filename!r} does not match the "
                                       "archive's directory; the file is corrupted or was altered")
    end = info.header_offset + _LOCAL.size + name_length + extra_length + info.compress_size
    if flags & 0x08:  # a data descriptor follows the data: crc and sizes, with an optional signature
        zip64 = _has_zip64(extra) or info.compress_size >= 0xFFFFFFFF or info.file_size >= 0xFFFFFFFF
        f.seek(end)
        signed = f.read(4) == _DESCRIPTOR_SIGNATURE
        end += (4 if signed else 0) + 4 + (16 if zip64 else 8)
    return end


def _has_zip64(extra: bytes) -> bool:
    at = 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack_from("<2H", extra, at)
        if kind == _ZIP64_EXTRA:
            return True
        at += 4 + size
    return False


def entry_digests(z: zipfile.ZipFile, where: str, skip: str) -> dict[str, tuple[int, str]]:
    """``{name: (bytes, sha256 hex)}`` of every entry but ``skip`` (the manifest), each read in full: a damaged entry
    (bad CRC, truncated, bad compressed data) is an :class:`ArtifactError` ``"corrupt"`` naming it."""
    out: dict[str, tuple[int, str]] = {}
    for info in z.infolist():
        if info.filename == skip:
            continue
        h, size = hashlib.sha256(), 0
        try:
            with z.open(info) as member:
                while chunk := member.read(_CHUNK):
                    h.update(chunk)
                    size += len(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as e:
            raise ArtifactError("corrupt", f"{where}: the entry {info.filename!r} is damaged ({e}); save the model "
                                           "again (or copy the file again)") from e
        if size != info.file_size:
            raise ArtifactError("corrupt", f"{where}: the entry {info.filename!r} holds {size} bytes, the archive's "
                                           f"directory says {info.file_size}; save the model again")
        out[info.filename] = (size, h.hexdigest())
    return out


def read_entry(z: zipfile.ZipFile, name: str, where: str, limit: int) -> bytes:
    """One small entry (a manifest or a config), at most ``limit`` bytes."""
    info = z.getinfo(name)
    if info.file_size > limit:
        raise ArtifactError("corrupt", f"{where}: {name!r} is {info.file_size} bytes, more than the {limit} such an "
                                       "entry can be; the file is corrupted or was altered")
    try:
        return z.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as e:
        raise ArtifactError("corrupt", f"{where}: the entry {name!r} is damaged ({e}); save the model again") from e
