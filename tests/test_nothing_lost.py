"""Nothing lost, loading: loads are all or nothing and never trust a file (corrupt, truncated,
empty, not a zip, object arrays, a header claiming a huge shape, an encrypted member, a
directory, a FIFO, a missing file, no permission). (Saving: test_nothing_lost_saving.py.)"""
import io
import os
import tempfile
import tracemalloc
import zipfile

import numpy as np
import pytest
from refusals import refuses

from tinygrad_rnn import FileError, StateDictError, Tensor, nn


def model(seed=0):
    return nn.Elman(3, 4, 2, seed=seed)


def assert_unchanged(m, before):
    for name, p in m.named_parameters():
        np.testing.assert_array_equal(p.data, before[name], err_msg=name)


def values(path):
    with np.load(path) as saved:
        return {name: saved[name].copy() for name in saved.files}


# --- load_state_dict: every member checked and converted before any is assigned ---

def state_with_last(bad):
    state = model(1).state_dict()
    state["b2"] = bad                                   # the last member is the bad one
    return state


LAST_MEMBERS = {
    "objects": (np.array([object(), object()], dtype=object), "b2: holds object"),
    "words": (np.array(["a", "b"]), "b2: holds <U1"),
    "complex numbers": (np.array([1 + 1j, 2.0]), "b2: holds complex128"),
    "bools": (np.array([True, False]), "b2: holds bool"),
    "another shape": (np.zeros(3), "b2: model (2,), saved (3,)"),
    "a 0-d array": (np.array(1.0), "b2: model (2,), saved ()"),
    "a ragged list": ([[1.0], [2.0, 3.0]], "b2: not an array of numbers"),
}


@pytest.mark.parametrize("bad, phrase", [pytest.param(*row, id=name)
                                         for name, row in LAST_MEMBERS.items()])
def test_a_bad_last_member_changes_no_parameter(bad, phrase):
    m = model()
    before = m.state_dict()
    refuses(StateDictError, lambda: m.load_state_dict(state_with_last(bad)), phrase)
    assert_unchanged(m, before)


def test_a_value_that_overflows_the_parameter_dtype_changes_nothing():
    m = model().to(np.float32)
    before = m.state_dict()
    state = {name: np.full(v.shape, 1e300) for name, v in before.items()}
    refuses(StateDictError, lambda: m.load_state_dict(state), "overflows", "float32")
    assert_unchanged(m, before)
    half = model().to(np.float16)             # integers too: 100000 is inf in float16
    before = half.state_dict()
    for dtype in (np.int64, np.uint32):
        state = {name: np.full(v.shape, 100000, dtype=dtype) for name, v in before.items()}
        refuses(StateDictError, lambda s=state: half.load_state_dict(s), "overflows", "float16")
        assert_unchanged(half, before)


@pytest.mark.parametrize("state, phrase", [("abc", "mapping"), (None, "NoneType"),
                                           ([("W1", np.zeros((4, 3)))], "list")], ids=repr)
def test_a_state_that_is_not_a_mapping_is_refused(state, phrase):
    refuses(StateDictError, lambda: model().load_state_dict(state), phrase)


def test_what_a_state_may_hold_nan_tensors_integers_float32():
    m, source = model(), model(1)
    nan_state = source.state_dict()
    nan_state["W1"][0, 0] = np.nan                   # a NaN weight is data: loaded as it is
    m.load_state_dict(nan_state)
    assert np.isnan(m.W1.data[0, 0])
    m.load_state_dict({k: Tensor(v) for k, v in source.state_dict().items()})
    np.testing.assert_array_equal(m.Wm.data, source.Wm.data)
    m.load_state_dict({k: np.ones(v.shape, dtype=np.int64) for k, v in m.state_dict().items()})
    assert m.W1.dtype == np.float64 and (m.W1.data == 1.0).all()
    m.load_state_dict({k: v.astype(np.float32) for k, v in source.state_dict().items()})
    assert m.W1.dtype == np.float64


def test_a_state_made_of_the_models_own_arrays_loads_as_it_reads():
    """Every value is copied before any is assigned: swapping two parameters swaps them
    (assigning one parameter at a time, as PyTorch's copy_ does, would give both the second's
    value), and a loaded model shares no memory with the state it was given."""
    m = nn.Elman(4, 4, 2, seed=0)
    w1, wm = m.W1.data.copy(), m.Wm.data.copy()
    m.load_state_dict({**m.state_dict(), "W1": m.Wm.data, "Wm": m.W1.data})
    np.testing.assert_array_equal(m.W1.data, wm)
    np.testing.assert_array_equal(m.Wm.data, w1)
    m.load_state_dict({**m.state_dict(), "W1": m.Wm, "Wm": m.W1})          # as Tensors
    np.testing.assert_array_equal(m.W1.data, w1)
    m.load_state_dict({**m.state_dict(), "W1": m.Wm.data[::-1], "Wm": m.W1.data[::-1]})
    np.testing.assert_array_equal(m.W1.data, wm[::-1])
    np.testing.assert_array_equal(m.Wm.data, w1[::-1])
    source, copy = model(1), model()
    copy.load_state_dict({name: p.data for name, p in source.named_parameters()})
    source.W1.data[...] = 7.0
    assert not (copy.W1.data == 7.0).any()


# --- load: files that are not what they claim ---

def truncated(at):
    def make(path):
        model(1).save(path)
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * at)] if at < 1 else data[:-1])
    return make


def npz_of(**arrays):
    def make(path):
        np.savez(path, **arrays)
    return make


def zip_of(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def encrypted(path):
    """An archive whose first member is flagged encrypted (a password-protected zip)."""
    model(1).save(path)
    data = bytearray(path.read_bytes())
    data[data.index(b"PK\x03\x04") + 6] |= 1                  # the local header's flags
    data[data.index(b"PK\x01\x02") + 8] |= 1                  # the central directory's
    path.write_bytes(bytes(data))


def huge_header(path):
    """A W1.npy member whose header claims 10^12 x 10^6 float64 (8 exabytes) over 96 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10 ** 12, 10 ** 6)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", buffer.getvalue() + b"\0" * 96)
        for name, value in model(1).state_dict().items():
            if name != "W1":
                member = io.BytesIO()
                np.save(member, value)
                archive.writestr(name + ".npy", member.getvalue())


BAD_FILES = {
    "missing": (lambda p: None, FileError, "does not exist"),
    "a directory": (lambda p: p.mkdir(), FileError, "a directory"),
    "a FIFO": (lambda p: os.mkfifo(p), FileError, "FIFO"),
    "a broken symlink": (lambda p: os.symlink(p.parent / "nowhere", p), FileError, "symlink"),
    "empty": (lambda p: p.write_bytes(b""), StateDictError, "empty"),
    "text": (lambda p: p.write_text("weights: 1, 2, 3"), StateDictError, "not a .npz"),
    "gzip": (lambda p: p.write_bytes(b"\x1f\x8b\x08\x00rest"), StateDictError, "not a .npz"),
    "a .npy": (lambda p: np.save(open(p, "wb"), np.zeros(3)), StateDictError, "unnamed array"),
    "truncated at 10%": (truncated(0.1), StateDictError, "corrupt"),
    "truncated at 50%": (truncated(0.5), StateDictError, "corrupt"),
    "truncated at 90%": (truncated(0.9), StateDictError, "corrupt"),
    "one byte short": (truncated(1), StateDictError, "corrupt"),
    "object arrays": (npz_of(**{k: np.array([None] * 2, dtype=object)
                                for k in model().state_dict()}), StateDictError,
                      "never unpickled"),
    "a member that is not .npy": (lambda p: zip_of(p, {"notes.txt": b"hi"}), StateDictError,
                                  "'notes.txt' is not a .npy"),
    "a header claiming a huge shape": (huge_header, StateDictError, "claims shape (1000000000000"),
    "an encrypted member": (encrypted, StateDictError, "'W1.npy' is encrypted"),
}


@pytest.mark.parametrize("make, error, phrase", [pytest.param(*row, id=name)
                                                 for name, row in BAD_FILES.items()])
def test_a_file_that_cannot_be_loaded_names_the_path_and_changes_nothing(tmp_path, make, error,
                                                                        phrase):
    path = tmp_path / "model.npz"
    make(path)
    m = model()
    before = m.state_dict()
    tracemalloc.start()
    try:
        refuses(error, lambda: m.load(path), phrase, str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 ** 20           # a header's claim is checked before anything is allocated
    assert_unchanged(m, before)


def test_a_special_file_and_a_file_without_permission_are_refused(tmp_path):
    refuses(FileError, lambda: model().load("/dev/null"), "character device")
    folder = tempfile.mkdtemp()                      # a folder another user may enter
    try:
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "model.npz")
        model(1).save(path)
        os.chmod(path, 0o000)
        assert_in_a_child_as_nobody(lambda: model().load(path), "FileError", "no permission")
    finally:
        os.chmod(path, 0o600)
        os.unlink(path)
        os.rmdir(folder)


def assert_in_a_child_as_nobody(call, *phrases, nobody=True):
    """Run call() in a forked child without root's privileges (with them: nobody=False); its
    error must hold phrases."""
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            if nobody and os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                call()
                os.write(write, b"no error")
            except Exception as exc:           # noqa: BLE001 - reported to the parent
                os.write(write, f"{type(exc).__name__}: {exc}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as reader:
        report = reader.read()
    os.waitpid(pid, 0)
    for phrase in phrases:
        assert phrase in report, report


def test_loads_that_work_big_endian_and_fortran_order(tmp_path):
    source = model(1)
    for name, convert in (("big.npz", lambda v: v.astype(">f8")),
                          ("fortran.npz", np.asfortranarray)):
        np.savez(tmp_path / name, **{k: convert(v) for k, v in source.state_dict().items()})
        loaded = model().load(tmp_path / name)
        np.testing.assert_array_equal(loaded.Wm.data, source.Wm.data)
