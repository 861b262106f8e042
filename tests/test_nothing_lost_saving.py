"""Nothing lost, saving: saves are atomic, follow symlinks, refuse special files and read-only
files, keep permissions, take a 250-character name and any parameter name, a disk that fills
up is a FileError, and a save killed at any moment (kill -9, in real processes) leaves the
previous file intact and no file behind; temporaries are recognised and removed only when
their writer is gone. (Loading: test_nothing_lost.py.)"""
import os
import signal
import socket
import stat
import tempfile
import time

import numpy as np
import pytest
from refusals import refuses
from test_nothing_lost import assert_in_a_child_as_nobody, model, values

import viz
from tinygrad_rnn import DTypeError, FileError, Tensor, files, nn
from tinygrad_rnn.files import atomic_writer, write_atomically
from viz.errors import VizError

# --- save: where it writes ---

def test_saving_onto_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    model(0).save(target)
    os.symlink("real/model.npz", tmp_path / "link.npz")          # relative
    os.symlink(tmp_path / "link.npz", tmp_path / "chain.npz")     # a link to a link
    for link, seed in (("link.npz", 1), ("chain.npz", 2)):
        model(seed).save(tmp_path / link)
        assert os.path.islink(tmp_path / link)
        np.testing.assert_array_equal(values(target)["W1"], model(seed).W1.data)
    assert sorted(os.listdir(tmp_path)) == ["chain.npz", "link.npz", "real"]
    assert os.listdir(tmp_path / "real") == ["model.npz"]
    os.symlink(tmp_path / "real" / "new.npz", tmp_path / "dangling.npz")
    model(3).save(tmp_path / "dangling.npz")                      # makes the file it names
    assert os.path.islink(tmp_path / "dangling.npz")
    assert (tmp_path / "real" / "new.npz").is_file()


def test_a_symlink_to_nowhere_is_named(tmp_path):
    os.symlink(tmp_path / "missing" / "model.npz", tmp_path / "link.npz")
    refuses(FileError, lambda: model().save(tmp_path / "link.npz"),
            "link.npz: it is a symlink to", "whose folder", "does not exist")
    os.symlink(tmp_path / "nowhere", tmp_path / "sub")
    refuses(FileError, lambda: model().save(tmp_path / "sub" / "model.npz"),
            "sub is a symlink to", "which does not exist")
    assert sorted(os.listdir(tmp_path)) == ["link.npz", "sub"]


@pytest.mark.parametrize("ending", ["/", "/.", "/.."])
def test_a_path_that_names_a_folder_is_refused(tmp_path, ending):
    """A Path drops a trailing separator and a last ".": "model.npz/" would write (or read)
    the file model.npz, and "models/" make a file called models. POSIX's open() refuses them,
    and so do save and load."""
    path = tmp_path / "model.npz"
    model(1).save(path)
    refuses(FileError, lambda: model().save(str(path) + ending), "names a folder")
    refuses(FileError, lambda: model().load(str(path) + ending), "names a folder")
    refuses(FileError, lambda: model().save(str(tmp_path / "models") + ending), "names a folder")
    assert os.listdir(tmp_path) == ["model.npz"]
    np.testing.assert_array_equal(values(path)["W1"], model(1).W1.data)


def test_a_read_only_file_is_not_replaced(tmp_path):
    """A file its owner made read-only stays, as open(path, "wb") (numpy.save, torch.save)
    would leave it, although the atomic rename could replace it. Root writes any file."""
    folder = tempfile.mkdtemp()                      # a folder another user may enter
    path = os.path.join(folder, "model.npz")
    try:
        model(1).save(path)
        os.chmod(folder, 0o755)
        if os.geteuid() == 0:
            os.chown(folder, 65534, 65534)
            os.chown(path, 65534, 65534)
        os.chmod(path, 0o444)
        assert_in_a_child_as_nobody(lambda: model(2).save(path), "FileError", "no permission",
                                    "read-only", "-r--r--r--")
        assert os.listdir(folder) == ["model.npz"]
        np.testing.assert_array_equal(values(path)["W1"], model(1).W1.data)
    finally:
        os.chmod(path, 0o600)
        os.unlink(path)
        os.rmdir(folder)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_disk_that_fills_up_mid_save_is_a_file_error_and_loses_nothing(tmp_path):
    """The file-size limit stands in for a full disk: the write fails inside numpy's writer
    (EFBIG, as ENOSPC would); the error names the file, the old one stays, nothing is left."""
    import resource
    path = tmp_path / "model.npz"
    model(1).save(path)

    def fill_up():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        nn.Elman(30, 40, 20).save(path)
    assert_in_a_child_as_nobody(fill_up, "FileError", f"cannot write {path}", "File too large",
                                nobody=False)
    assert os.listdir(tmp_path) == ["model.npz"]
    np.testing.assert_array_equal(values(path)["W1"], model(1).W1.data)


def test_a_save_in_a_deleted_folder_is_a_file_error(tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()

    def save_there():
        os.chdir(folder)
        os.rmdir(folder)
        model().save("model.npz")
    assert_in_a_child_as_nobody(save_there, "FileError", "cannot write model.npz", nobody=False)


class Named(nn.Module):
    def __init__(self, *names, value=1.0):
        super().__init__()
        for i, name in enumerate(names):
            setattr(self, name, Tensor(np.full(2, value + i), requires_grad=True))


@pytest.mark.parametrize("names", [("file", "w"), ("allow_pickle", "w"), ("args", "kwds"),
                                   ("arr_0", "β")], ids=str)
def test_any_parameter_name_saves_and_loads(tmp_path, names):
    """numpy.savez(file, **state) takes a parameter named "file" or "allow_pickle" for its own
    argument (a TypeError; a parameter silently left out): save writes the same format
    without that trap."""
    Named(*names).save(tmp_path / "model.npz")
    assert sorted(values(tmp_path / "model.npz")) == sorted(names)
    loaded = Named(*names, value=0.0).load(tmp_path / "model.npz")
    for i, name in enumerate(names):
        np.testing.assert_array_equal(getattr(loaded, name).data, [1.0 + i] * 2)


def make_socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


SPECIAL = {
    "a directory": (lambda p: p.mkdir(), "a directory", stat.S_ISDIR),
    "a FIFO": (lambda p: os.mkfifo(p), "a FIFO", stat.S_ISFIFO),
    "a socket": (make_socket, "a socket", stat.S_ISSOCK),
    "a character device": (lambda p: os.mknod(p, stat.S_IFCHR | 0o600, os.makedev(1, 3)),
                           "a character device", stat.S_ISCHR),
}


@pytest.mark.parametrize("make, phrase, kind", [pytest.param(*row, id=name)
                                                for name, row in SPECIAL.items()])
def test_a_special_file_is_refused_never_replaced(tmp_path, make, phrase, kind):
    path = tmp_path / "model.npz"
    if kind is stat.S_ISCHR and os.geteuid() != 0:
        pytest.skip("making a device needs root")
    made = make(path)
    try:
        refuses(FileError, lambda: model().save(path), phrase, "refusing")
        refuses(FileError, lambda: write_atomically(b"x", path), phrase)
        assert kind(os.lstat(path).st_mode)
        os.symlink(path, tmp_path / "link")
        refuses(FileError, lambda: model().save(tmp_path / "link"), phrase)
    finally:
        if made is not None:
            made.close()
    assert sorted(os.listdir(tmp_path)) == ["link", "model.npz"]


def test_permissions_and_owner_of_an_existing_file_are_kept(tmp_path):
    path = tmp_path / "model.npz"
    model(0).save(path)
    os.chmod(path, 0o640)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
    model(1).save(path)
    info = os.stat(path)
    assert stat.S_IMODE(info.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (65534, 65534)
    previous = os.umask(0o027)
    try:
        model(0).save(tmp_path / "new.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640


def test_a_legal_long_name_saves_and_a_name_past_the_limit_is_named(tmp_path):
    long_name = "m" * 246 + ".npz"                        # 250 characters
    model(1).save(tmp_path / long_name)
    assert os.listdir(tmp_path) == [long_name]
    np.testing.assert_array_equal(model().load(tmp_path / long_name).W1.data, model(1).W1.data)
    refuses(FileError, lambda: model().save(tmp_path / ("m" * 300)), "too long")
    assert os.listdir(tmp_path) == [long_name]


def test_missing_folders_are_made_and_removed_again_when_the_write_fails(tmp_path):
    refuses(FileError, lambda: model().save(tmp_path / "new" / "deeper" / ("m" * 300)),
            "too long")
    assert os.listdir(tmp_path) == []
    (tmp_path / "kept").mkdir()
    with pytest.raises(KeyboardInterrupt):
        with atomic_writer(tmp_path / "kept" / "a" / "b" / "x.bin") as file:
            file.write(b"half")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["kept"] and os.listdir(tmp_path / "kept") == []
    # a folder on the way that cannot be made: the ones made before it are removed too
    refuses(FileError, lambda: model().save(tmp_path / "new" / "sub" / ("c" * 300) / "m.npz"),
            "too long")
    assert os.listdir(tmp_path) == ["kept"]
    model(1).save(tmp_path / "new" / "m.npz")
    assert os.listdir(tmp_path / "new") == ["m.npz"]


BAD_PATHS = {
    "a number": (123, DTypeError, "path must be a str"),
    "None": (None, DTypeError, "NoneType"),
    "empty": ("", FileError, "empty"),
    "a NUL byte": ("a\0b.npz", FileError, "NUL"),
    "a PathLike giving an int": (type("P", (), {"__fspath__": lambda self: 3})(), DTypeError,
                                 "is not a path"),
}


@pytest.mark.parametrize("path, error, phrase", [pytest.param(*row, id=name)
                                                 for name, row in BAD_PATHS.items()])
def test_paths_that_are_not_paths_are_refused(path, error, phrase):
    refuses(error, lambda: model().save(path), phrase)
    refuses(error, lambda: model().load(path), phrase)


def test_a_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    refuses(FileError, lambda: model().save(tmp_path / "file" / "model.npz"), "file",
            "not a folder")
    refuses(FileError, lambda: model().save("/proc/model.npz"), "/proc/model.npz")


def test_write_atomically_takes_bytes_only_and_keeps_its_signature(tmp_path):
    refuses(DTypeError, lambda: write_atomically("text", tmp_path / "a.txt"), "bytes", "str")
    refuses(DTypeError, lambda: write_atomically(None, tmp_path / "a.txt"), "NoneType")
    assert write_atomically(bytearray(b"ab"), tmp_path / "a.bin") == tmp_path / "a.bin"
    write_atomically(memoryview(b"cd"), str(tmp_path / "a.bin"))
    assert (tmp_path / "a.bin").read_bytes() == b"cd"
    with pytest.raises(RuntimeError), atomic_writer(tmp_path / "a.bin") as file:
        file.write(b"half")
        raise RuntimeError("the writer's own error passes through")
    assert (tmp_path / "a.bin").read_bytes() == b"cd" and os.listdir(tmp_path) == ["a.bin"]


def test_writers_take_a_bytes_path_and_any_memoryview(tmp_path):
    """A bytes path (even one that is not UTF-8) is written and returned as a Path, by
    write_atomically and by the visualizer's writers; a memoryview is written as bytes(view)."""
    folder = os.fsencode(str(tmp_path))
    assert write_atomically(b"x", folder + b"/\xff.bin") == tmp_path / os.fsdecode(b"\xff.bin")
    assert viz.render_html("<p>x</p>", folder + b"/page.html") == tmp_path / "page.html"
    assert viz.render_svg("digraph { a -> b }", folder + b"/g.svg") == tmp_path / "g.svg"
    assert (tmp_path / "page.html").read_bytes() == b"<p>x</p>"
    assert (tmp_path / "g.svg").read_bytes().startswith(b"<?xml")
    write_atomically(memoryview(np.arange(10, dtype=np.uint8)[::2]), tmp_path / "a.bin")
    assert (tmp_path / "a.bin").read_bytes() == bytes([0, 2, 4, 6, 8])
    refuses(VizError, lambda: viz.render_svg('digraph { a [label="\udcff"] }', tmp_path / "s.svg"),
            "'\\udcff' at position 20", "lone surrogate")
    assert not (tmp_path / "s.svg").exists()


# --- temporaries: recognised, and removed only when their writer is gone ---

def test_a_stale_temporary_is_removed_and_a_live_one_is_not(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "UNNAMED_TEMPORARIES", False)     # named from the start
    stale = tmp_path / ".tinygrad-rnn-0123456789abcdef.tmp"      # its writer was killed
    stale.write_bytes(b"half a model")
    others = [".tinygrad-rnn-notours.tmp", "model.npz.tmp", ".model.npz.x1y2.tmp"]
    for name in others:
        (tmp_path / name).write_bytes(b"someone else's")
    with atomic_writer(tmp_path / "slow.bin") as file:            # a live writer, mid-write
        file.write(b"slow")
        live = [n for n in os.listdir(tmp_path) if files.is_temporary_name(n) and
                n != stale.name]
        write_atomically(b"fast", tmp_path / "fast.bin")          # cleans the folder
        assert not stale.exists() and all((tmp_path / n).exists() for n in live + others)
    assert (tmp_path / "slow.bin").read_bytes() == b"slow"
    assert sorted(os.listdir(tmp_path)) == sorted(["fast.bin", "slow.bin", *others])


def kill_saves(tmp_path, runs, rng, old, new):
    """Start a real process that saves `new` and `old` in turn onto one file (in a folder of
    its own under tmp_path per run), kill it (-9) at a random moment, and check the file and
    the folder; returns how many temporaries each killed save left (to be removed by the next
    save, which the check runs)."""
    left = []
    for run in range(runs):
        folder = tmp_path / str(run)
        folder.mkdir()
        path = folder / "model.npz"
        old.save(path)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:                       # the child: save until killed
            try:
                os.close(read)
                os.write(write, b"saving")
                for k in range(10 ** 9):
                    (new, old)[k % 2].save(path)
            finally:
                os._exit(1)
        os.close(write)
        os.read(read, 6)
        os.close(read)
        time.sleep(rng.uniform(0.0, 0.09))                # about two saves of 4 MB
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        names = os.listdir(folder)
        extra = [n for n in names if n != "model.npz"]
        assert "model.npz" in names and all(files.is_temporary_name(n) for n in extra), names
        left.append(len(extra))
        saved = values(path)                              # intact: one model or the other
        assert any(all(np.array_equal(saved[k], v) for k, v in m.state_dict().items())
                   for m in (old, new))
        old.save(path)                                    # the next save cleans the folder
        assert os.listdir(folder) == ["model.npz"]
    return left


@pytest.fixture(scope="module")
def four_megabyte_models():
    return nn.Elman(256, 512, 256, seed=1), nn.Elman(256, 512, 256, seed=2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked processes")
@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed", "named"])
def test_a_save_killed_at_any_moment_loses_nothing(tmp_path, monkeypatch, four_megabyte_models,
                                                   unnamed):
    """Random kills: the file is always one model or the other, and what a kill leaves is
    only temporaries, which the next save removes (kill_saves checks all three). How many a
    kill leaves depends on where it lands and on the machine's load: the tests below stop a
    writer at each place deterministically."""
    if unnamed and not files.UNNAMED_TEMPORARIES:
        pytest.skip("this system has no unnamed temporaries")
    monkeypatch.setattr(files, "UNNAMED_TEMPORARIES", unnamed)
    old, new = four_megabyte_models
    left = kill_saves(tmp_path, 12, np.random.default_rng(0), old, new)
    assert all(n <= 1 for n in left), left     # one save at a time: one temporary at most


def killed_while_paused(tmp_path, old, new, pause):
    """Start a real process that saves `new` over folder/model.npz (which holds `old`) and
    stops at `pause`: "writing" (half the bytes written) or "renaming" (the temporary complete
    and named, before os.replace). Returns the folder's names while it waits there and after
    it is killed (-9) there."""
    folder = tmp_path / pause
    folder.mkdir()
    path = folder / "model.npz"
    old.save(path)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                           # the child: save, and wait at the pause
        try:
            os.close(read)

            def stop(*args, **kwargs):
                os.write(write, b"paused")
                time.sleep(60)
            if pause == "writing":
                with atomic_writer(path) as file:
                    file.write(b"half a model")
                    stop()
            else:
                os.replace = stop          # this process's os module only
                new.save(path)
        finally:
            os._exit(1)
    os.close(write)
    assert os.read(read, 6) == b"paused"
    os.close(read)
    waiting = sorted(os.listdir(folder))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    killed = sorted(os.listdir(folder))
    saved = values(path)                   # the old model, intact
    assert all(np.array_equal(saved[k], v) for k, v in old.state_dict().items())
    new.save(path)                         # the next save removes what was left
    assert os.listdir(folder) == ["model.npz"]
    return waiting, killed


@pytest.mark.skipif(not hasattr(os, "fork") or not files.UNNAMED_TEMPORARIES,
                    reason="kills forked processes; needs unnamed temporaries")
def test_an_unnamed_temporary_has_no_name_until_its_rename(tmp_path, four_megabyte_models):
    old, new = four_megabyte_models
    waiting, killed = killed_while_paused(tmp_path, old, new, "writing")
    assert waiting == killed == ["model.npz"]
    # only a kill in the instant between naming it and renaming it leaves one
    waiting, killed = killed_while_paused(tmp_path, old, new, "renaming")
    assert waiting == killed and len(waiting) == 2 and files.is_temporary_name(waiting[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked processes")
def test_temporaries_named_from_the_start_are_removed_by_the_next_save(tmp_path, monkeypatch,
                                                                      four_megabyte_models):
    monkeypatch.setattr(files, "UNNAMED_TEMPORARIES", False)    # as on other systems
    old, new = four_megabyte_models
    for pause in ("writing", "renaming"):
        waiting, killed = killed_while_paused(tmp_path, old, new, pause)
        assert waiting == killed and len(waiting) == 2 and files.is_temporary_name(waiting[0])
