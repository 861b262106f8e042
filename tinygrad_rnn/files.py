"""Writing a file so that nothing a user saved is ever half-overwritten.

The content goes to a temporary file in the target's folder, is flushed to disk, and is then
renamed over the target (an atomic step on POSIX and Windows): a crash or an error mid-write
leaves the old file as it was and no temporary behind.

    >>> with atomic_writer("model.npz") as file:
    ...     np.savez(file, **arrays)
"""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_writer(path):
    """A binary file to write into; on a clean exit it replaces `path`, otherwise it vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())      # mkstemp makes 0600; a save is a normal file
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def write_atomically(data, path):
    """Write `data` (bytes) to `path` atomically; returns the path."""
    with atomic_writer(path) as file:
        file.write(data)
    return Path(path)


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
