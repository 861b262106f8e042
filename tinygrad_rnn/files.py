"""Writing a file so that nothing a user saved is ever half-overwritten, and nothing is left behind.

    >>> with atomic_writer("model.npz") as file:
    ...     np.savez(file, **arrays)
    >>> write_atomically(svg_bytes, "graph.svg")

How. The content goes to a temporary file in the target's folder, is flushed to disk, and is
then renamed over the target, an atomic step: a crash or an error mid-write leaves the old
file as it was. On Linux the temporary has no name while it is written (O_TMPFILE): a writer
killed at any moment of the write leaves nothing, since the kernel frees an unnamed file with
its last descriptor. Only when the content is complete does it get a name
(".tinygrad-rnn-<random>.tmp", linked through /proc/self/fd) for the rename. Where unnamed
files are not available (other systems, some file systems) the temporary is named from the
start. A named temporary left by a killed writer (there, or in the instant between linking and
renaming) is removed by the next save in that folder: every writer holds an exclusive lock
(flock) on its temporary until the rename, so a temporary whose lock can be taken has no writer.

What is written where. Folders on the way that do not exist are made (and removed again when
the write fails: nothing is left behind; a writer killed outright, SIGKILL or a power cut,
cannot remove them, and they stay, empty). A symlink is followed: saving onto a link writes the
file it points to (atomically) and leaves the link a link (the folder it points into must
exist). An existing file keeps its permission bits (and its owner, where the process may set
it); a new one gets 0o666 less the umask, as open() gives. An existing file the process may not
write (read-only for its owner, say) is refused, as open(path, "wb") refuses it: an atomic
rename could replace it, but a user who made a file read-only meant it to stay. A directory,
FIFO, device or socket at the path is refused (FileError), never replaced, and so is a path
that ends in a separator ("models/"), which names a folder. Every failure of the file system is
a FileError (an OSError) naming the path and what is wrong, including a disk that fills up
while the code writing into the file writes (ENOSPC, EDQUOT, EFBIG, EIO); any other exception
raised by that code passes through unchanged.
"""
import errno
import os
import secrets
import stat
from contextlib import contextmanager, suppress
from pathlib import Path

try:
    import fcntl
except ImportError:      # Windows: a file a live writer holds open cannot be deleted there
    fcntl = None

from .errors import DTypeError, FileError

TEMPORARY_PREFIX = ".tinygrad-rnn-"
TEMPORARY_SUFFIX = ".tmp"
# Unnamed temporaries need O_TMPFILE and /proc/self/fd to give them a name once complete.
UNNAMED_TEMPORARIES = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NO_UNNAMED_FILES = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP}
# What the file system says when a write into the file fails: the disk, the quota or the
# file-size limit is full, or the device failed.
_WRITE_FAILURES = {getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EIO")
                   if hasattr(errno, name)}
_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep)


def as_path(path, who):
    """`path` (str, bytes or os.PathLike) as a Path; a DTypeError for anything else and a
    FileError for an empty path, one with a NUL byte, or one whose last part names a folder
    ("models/", "a/.", ".."; a Path would silently drop the separator and the "."), each
    naming `who` is asking."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise DTypeError(f"{who}: the path must be a str or an os.PathLike, got "
                         f"{type(path).__name__} {path!r}")
    try:
        text = os.fspath(path)
    except TypeError as exc:        # an os.PathLike whose __fspath__ returns neither
        raise DTypeError(f"{who}: the path {type(path).__name__} is not a path ({exc})") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "":
        raise FileError(f"{who}: the path is empty")
    if "\0" in text:
        raise FileError(f"{who}: the path {text!r} holds a NUL byte", errno.EINVAL, text)
    ending = text[-1] if text.endswith(_SEPARATORS) else os.path.basename(text)
    if ending in (*_SEPARATORS, ".", ".."):
        raise FileError(f"{who}: the path {text} ends in {ending!r}, so it names a folder; name "
                        f"a file", errno.EISDIR, text)
    return Path(text)


def file_error(action, path, exc):
    """The FileError for an OSError met while doing `action` ("write", "read") on `path`."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        reason = f"no permission ({reason})"
    elif exc.errno == errno.ENAMETOOLONG:
        reason = f"the name is too long for the file system ({reason})"
    return FileError(f"cannot {action} {path}: {reason}", exc.errno, str(path))


def kind_of(mode):
    """'a directory', 'a FIFO', ...: what a non-regular file is, for messages."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


@contextmanager
def atomic_writer(path):
    """A binary file to write into; on a clean exit it replaces `path` (see the module doc),
    otherwise it vanishes and `path` is as it was, and so do the folders made for it."""
    path = as_path(path, "atomic_writer")
    made = _make_folders(path)
    try:
        with _replacing(path) as file:
            yield file
    except BaseException:
        _remove_folders(made)
        raise


def _remove_folders(folders):
    """Remove the folders a write made, deepest first; one a file was put into stays."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            break


@contextmanager
def _replacing(path):
    """atomic_writer's work, once the folders of `path` exist."""
    target, existing = _target(path)
    _remove_stale_temporaries(target.parent)
    handle, name = _open_temporary(target.parent, path)
    linked = name
    file = os.fdopen(handle, "wb", closefd=False)
    try:
        try:
            yield file
        except BaseException as exc:
            with suppress(OSError):
                file.close()
            if isinstance(exc, OSError) and exc.errno in _WRITE_FAILURES:
                raise file_error("write", path, exc) from exc
            raise
        try:
            file.close()                 # flushes what is buffered
            os.fsync(handle)
            if existing is not None:
                _keep_mode_and_owner(handle, existing)
            if linked is None:
                linked = _link_unnamed(handle, target.parent)
            os.replace(linked, target)
            linked = None
        except OSError as exc:
            raise file_error("write", path, exc) from None
    finally:
        if linked is not None:
            _unlink_quietly(linked)
        os.close(handle)      # releases the lock; an unnamed temporary is freed here
    _sync_folder(target.parent)


def write_atomically(data, path):
    """Write `data` (bytes, bytearray or memoryview) to `path` atomically; returns the path
    as a Path (a bytes path decoded as os.fsdecode does). A memoryview is written as
    bytes(view) would be: its elements in order, contiguous or not."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DTypeError(f"write_atomically: data must be bytes, got {type(data).__name__}")
    if isinstance(data, memoryview) and not data.c_contiguous:
        data = data.tobytes()
    checked = as_path(path, "write_atomically")
    with atomic_writer(checked) as file:
        file.write(data)
    return checked


def open_for_reading(path, who):
    """A binary file object of `path` (symlinks followed) for reading; a FileError naming
    `who` and the path if it is missing, unreadable, or not a regular file (a directory, a
    FIFO, which would block, a device)."""
    path = as_path(path, who)
    try:
        handle = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except FileNotFoundError as exc:
        what = ("is a symlink to a file that does not exist" if os.path.islink(path)
                else "does not exist")
        raise FileError(f"{who}: {path} {what}", exc.errno, str(path)) from None
    except OSError as exc:
        raise FileError(f"{who}: {file_error('read', path, exc)}", exc.errno, str(path)) from None
    mode = os.fstat(handle).st_mode
    if not stat.S_ISREG(mode):
        os.close(handle)
        raise FileError(f"{who}: cannot read {path}: it is {kind_of(mode)}", errno.EINVAL,
                        str(path))
    if _NONBLOCK and fcntl is not None:     # a regular file never blocks; plain reads from here
        fcntl.fcntl(handle, fcntl.F_SETFL, fcntl.fcntl(handle, fcntl.F_GETFL) & ~_NONBLOCK)
    return os.fdopen(handle, "rb")


def _make_folders(path):
    """Make the missing folders of `path`; returns those it made, deepest first. A failure
    half-way (a name too long, no space for another folder) removes those it made."""
    missing, folder = [], path.parent
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except BaseException as exc:
        _remove_folders([folder for folder in missing if os.path.isdir(folder)])
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            raise FileError(f"cannot write {path}: {_blocking_folder(path)}", errno.ENOTDIR,
                            str(path)) from None
        if isinstance(exc, OSError):
            raise file_error("write", path, exc) from None
        raise
    return missing


def _target(path):
    """The file a write to `path` replaces (symlinks followed) and its stat, or None when it
    does not exist yet; refuses what is not a regular file."""
    try:
        target = Path(os.path.realpath(path))
    except OSError as exc:          # the current folder was deleted
        raise file_error("write", path, exc) from None
    shown = path if target == path.absolute() else f"{path} (-> {target})"
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise FileError(f"cannot write {path}: it is a symlink to {target}, whose folder "
                            f"{target.parent} does not exist", errno.ENOENT, str(path)) from None
        return target, None
    except OSError as exc:
        raise file_error("write", path, exc) from None
    if not stat.S_ISREG(existing.st_mode):
        raise FileError(f"cannot write {shown}: it is {kind_of(existing.st_mode)}; refusing to "
                        f"replace it with a regular file", errno.EEXIST, str(path))
    if not os.access(target, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        why = ("the file is read-only" if not existing.st_mode & stat.S_IWUSR else
               f"it belongs to user id {existing.st_uid}")
        raise FileError(f"cannot write {shown}: no permission ({why}, mode "
                        f"{stat.filemode(existing.st_mode)}); refusing to replace it",
                        errno.EACCES, str(path))
    return target, existing


def _blocking_folder(path):
    """Why the folders of `path` cannot be made: the first part on the way that is a file, or
    a symlink to nowhere."""
    for folder in reversed(path.parents):
        if os.path.islink(folder) and not folder.exists():
            return (f"{folder} is a symlink to {os.readlink(folder)}, which does not exist, "
                    f"not a folder")
        if folder.exists() and not folder.is_dir():
            return f"{folder} is a file, not a folder"
    return f"{path.parent} is a file, not a folder"


def _open_temporary(folder, path):
    """A descriptor of a new temporary file in `folder`, locked, and its name (None when it is
    unnamed). Its mode is 0o666 less the umask, as a new file's would be."""
    if UNNAMED_TEMPORARIES:
        try:
            handle = os.open(folder, os.O_TMPFILE | os.O_WRONLY | _CLOEXEC, 0o666)
        except OSError as exc:
            if exc.errno not in _NO_UNNAMED_FILES:
                raise file_error("write", path, exc) from None
        else:
            _lock(handle)
            return handle, None
    while True:
        name = _temporary_name(folder)
        try:
            handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                             0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise file_error("write", path, exc) from None
        _lock(handle)
        # A cleaner that found the file before it was locked may have removed it: then the
        # name is no longer this file's, and another is made.
        if _same_file(name, handle):
            return handle, name
        os.close(handle)


def _temporary_name(folder):
    return folder / f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}{TEMPORARY_SUFFIX}"


def is_temporary_name(name):
    """True for the name of a temporary an atomic write makes (and a later one may remove)."""
    middle = name[len(TEMPORARY_PREFIX):-len(TEMPORARY_SUFFIX)]
    return (name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX)
            and len(middle) == 16 and all(c in "0123456789abcdef" for c in middle))


def _link_unnamed(handle, folder):
    """Give the complete unnamed temporary a name in `folder`, for the rename. The folder's
    descriptor makes os.link call linkat(2) with AT_SYMLINK_FOLLOW, which links the file
    that /proc/self/fd/N stands for rather than the link itself."""
    folder_handle = os.open(folder, os.O_RDONLY | _CLOEXEC)
    try:
        while True:
            name = _temporary_name(folder)
            try:
                os.link(f"/proc/self/fd/{handle}", name.name, dst_dir_fd=folder_handle,
                        follow_symlinks=True)
                return name
            except FileExistsError:
                continue
    finally:
        os.close(folder_handle)


def _lock(handle):
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX)


def _same_file(name, handle):
    try:
        return os.stat(name, follow_symlinks=False).st_ino == os.fstat(handle).st_ino
    except OSError:
        return False


def _keep_mode_and_owner(handle, existing):
    if hasattr(os, "fchmod"):
        os.fchmod(handle, stat.S_IMODE(existing.st_mode))
    if hasattr(os, "fchown") and (existing.st_uid, existing.st_gid) != (os.geteuid(),
                                                                        os.getegid()):
        try:
            os.fchown(handle, existing.st_uid, existing.st_gid)
        except OSError:       # only root may give a file away: it then belongs to the writer
            pass


def _remove_stale_temporaries(folder):
    """Remove the temporaries of writers that were killed before their rename."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if is_temporary_name(entry.name):
            _remove_if_stale(entry.path)


def _remove_if_stale(name):
    if fcntl is None:           # Windows refuses to delete a file a live writer holds open
        _unlink_quietly(name)
        return
    try:
        handle = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except OSError:
        return
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:         # a live writer holds its lock
            return
        if _same_file(name, handle):
            _unlink_quietly(name)
    finally:
        os.close(handle)


def _unlink_quietly(name):
    try:
        os.unlink(name)
    except OSError:
        pass


def _sync_folder(folder):
    """Flush the rename itself to disk, where the platform lets a folder be opened."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
