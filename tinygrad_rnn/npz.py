"""Reading a .npz archive of named arrays without trusting it, and writing one.

A .npz (what numpy.savez writes, and Module.save) is a zip archive with one .npy member per
array. read_npz checks each member's header before it reads any data: the dtype must be a
plain number type (arrays of Python objects, which only pickle can read, are refused, never
unpickled), and the bytes the header's shape claims must be there in the member, so a header
that claims a huge shape costs nothing. Anything else wrong (not a zip, empty, truncated, a
bad CRC, a member that is not a .npy, an encrypted member) is a StateDictError naming the
file and the member.

write_npz writes numpy.savez's format under any names: numpy.savez(file, **arrays) would take
an array named "file" or "allow_pickle" for one of its own arguments (the first a TypeError,
the second an array silently left out of the file).

    >>> arrays = read_npz("model.npz", "Elman.load", check=lambda headers: [])
    >>> with atomic_writer("model.npz") as file:
    ...     write_npz(file, {"W1": w1, "file": w2})
"""
import math
import zipfile
import zlib

import numpy as np

from .errors import StateDictError
from .files import open_for_reading

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")       # a member first, or an empty archive
# What a read of a broken archive raises: zipfile's own error, a short read, a bad deflate
# stream, a header numpy cannot parse, a compression method this Python lacks.
BROKEN = (zipfile.BadZipFile, EOFError, zlib.error, ValueError, NotImplementedError, OSError)


def read_npz(path, who, check):
    """The arrays of the .npz at `path` as {name: array}.

    `check(headers)` sees {name: (shape, dtype)} of every member before any data is read and
    returns a list of problems (names or shapes that do not fit); if it or the archive has
    any, nothing more is read and a StateDictError lists them all."""
    with open_for_reading(path, who) as file:
        start = file.read(8)
        if not start:
            raise StateDictError(f"{who}: {path} is empty (0 bytes), not a .npz file of named "
                                 f"arrays")
        if start.startswith(NPY_MAGIC):
            raise StateDictError(f"{who}: {path} is a .npy file holding one unnamed array, not a "
                                 f".npz file of named arrays written by save()")
        if not start.startswith(ZIP_MAGICS):
            raise StateDictError(f"{who}: {path} is not a .npz file (a zip archive of .npy "
                                 f"arrays); it starts with {start[:8]!r}")
        file.seek(0)
        try:
            archive = zipfile.ZipFile(file)
        except BROKEN as exc:
            raise StateDictError(f"{who}: {path} is a corrupt or truncated .npz file "
                                 f"({exc})") from None
        with archive:
            members, problems = _members(archive)
            headers = {}
            for name, info in members.items():
                header = _header(archive, info)
                if isinstance(header, str):
                    problems.append(f"{info.filename}: {header}")
                else:
                    headers[name] = header
            problems += check({name: (shape, dtype) for name, (shape, _, dtype, _)
                               in headers.items()})
            if problems:
                raise StateDictError(f"{who}: {path} does not fit: " + "; ".join(problems))
            arrays = {}
            for name, info in members.items():
                array = _data(archive, info, headers[name])
                if isinstance(array, str):
                    problems.append(f"{info.filename}: {array}")
                else:
                    arrays[name] = array
            if problems:
                raise StateDictError(f"{who}: {path} is corrupt: " + "; ".join(problems))
    return arrays


def write_npz(file, arrays):
    """Write {name: array of numbers} into the binary file object `file` as a .npz: a zip
    archive, stored uncompressed, of one .npy member per array, as numpy.savez writes it."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _members(archive):
    members, problems = {}, []
    for info in archive.infolist():
        if info.is_dir() or not info.filename.endswith(".npy"):
            problems.append(f"member {info.filename!r} is not a .npy array")
        elif info.flag_bits & 0x1:
            problems.append(f"member {info.filename!r} is encrypted (save() never encrypts)")
        elif info.filename[:-4] in members:
            problems.append(f"member {info.filename!r} appears twice")
        else:
            members[info.filename[:-4]] = info
    return members, problems


def _header(archive, info):
    """(shape, fortran_order, dtype, header_bytes) of a .npy member, or what is wrong."""
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
            else:           # 2.0 and 3.0 differ only in the header's text encoding
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            offset = member.tell()
    except BROKEN as exc:
        return f"not a readable .npy array ({exc})"
    if dtype.hasobject or dtype.kind not in "biufc":
        return (f"holds {dtype} values; only arrays of numbers are loaded (arrays of objects "
                f"are never unpickled)")
    claimed, held = math.prod(shape) * dtype.itemsize, info.file_size - offset
    if claimed != held:         # numpy writes the header and the data, nothing more
        return (f"its header claims shape {shape} of {dtype} ({claimed} bytes) but the member "
                f"holds {max(held, 0)} bytes of data")
    return shape, fortran, dtype, offset


def _data(archive, info, header):
    """The array of a member whose header was checked, or what is wrong with its data."""
    shape, fortran, dtype, offset = header
    size = math.prod(shape) * dtype.itemsize
    try:
        with archive.open(info) as member:
            member.read(offset)
            data = member.read(size)
            member.read()           # nothing is left (checked); at the end zipfile checks the CRC
    except BROKEN as exc:
        return f"unreadable data ({exc})"
    if len(data) != size:
        return f"truncated: {len(data)} of {size} bytes of data"
    flat = np.frombuffer(data, dtype=dtype)
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
