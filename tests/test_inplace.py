"""In-place edits between forward and backward (inplace.py): every way of writing a value a
recorded graph still needs is refused by backward with a BackwardError naming the tensor;
writing when no graph waits on the value stays silent."""
import pickle

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import BackwardError, Tensor, nn, no_grad, optim


def square_loss():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    return x, (x * x).sum()


# --- every kind of write is caught, and the message names the tensor and says what to do ---

WRITES = {
    "item assignment": lambda x: x.data.__setitem__(Ellipsis, 10.0),
    "one element": lambda x: x.data.__setitem__(1, 10.0),
    "a view of the data": lambda x: x.data.reshape(-1).__setitem__(0, 10.0),
    "augmented assignment": lambda x: setattr(x, "data", x.data.__iadd__(1.0)),
    "ufunc with out=": lambda x: np.multiply(x.data, 2.0, out=x.data),
    "np.copyto": lambda x: np.copyto(x.data, np.zeros(3)),
    "np.add.at": lambda x: np.add.at(x.data, [0, 0], 1.0),
    "fill": lambda x: x.data.fill(0.0),
    "sort": lambda x: x.data.sort(),
    "rebinding .data": lambda x: setattr(x, "data", np.array([4.0, 5.0, 6.0])),
    "numpy()": lambda x: x.numpy().__setitem__(0, 7.0),
    "in-place operator under no_grad": lambda x: _under_no_grad(x),
}


def _under_no_grad(x):
    with no_grad():
        x -= 1.0


@pytest.mark.parametrize("write", WRITES.values(), ids=list(WRITES))
def test_a_write_to_a_saved_input_is_refused_by_backward(write):
    x, loss = square_loss()
    write(x)
    with pytest.raises(BackwardError) as raised:
        loss.backward()
    message = str(raised.value)
    assert "'x'" in message and "(3,)" in message and "'mul'" in message
    assert "modified in place" in message and "backward() before" in message
    assert x.grad is None                         # nothing was written


def test_the_message_names_the_time_step_and_the_op():
    W = Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    with tg.step(4):
        out = (Tensor(np.ones((1, 2))) @ W.T).tanh().sum()
    W.data[0, 0] = 3.0
    with pytest.raises(BackwardError, match=r"'transpose'.*at time step t=4"):
        out.backward()


def test_an_edit_of_an_ops_own_output_that_its_vjp_reads_is_refused():
    x = Tensor([0.5, -0.5], requires_grad=True)
    y = x.tanh()                                  # d tanh = 1 - tanh^2: reads its output
    y.data[...] = 0.0
    with pytest.raises(BackwardError, match="its output.*'tanh' result"):
        y.backward(np.ones(2))


def test_an_edit_of_an_output_another_op_reads_is_refused():
    x = Tensor([0.5, -0.5], requires_grad=True)
    y = x * 3.0
    loss = (y * y).sum()
    y.data[0] = 100.0
    with pytest.raises(BackwardError, match="'mul' result"):
        loss.backward()


def test_a_write_through_a_view_op_is_seen_by_nodes_reading_the_original():
    W = Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    loss = (Tensor(np.ones((4, 3))) @ W).sum()
    W.T.data[...] = 2.0                           # W.T's value is a view of W's memory
    with pytest.raises(BackwardError, match="'W'"):
        loss.backward()


def test_a_detached_tensor_shares_its_writes():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    loss = (h * h).sum()
    h.detach().data[...] = 0.0                    # detach shares memory (and version) with h
    with pytest.raises(BackwardError):
        loss.backward()


# --- the engine's own writes: optimizers and load_state_dict ---

def elman_problem():
    model = nn.Elman(2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    xs, vs = rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 1))
    return model, xs, vs


@pytest.mark.parametrize("optimizer", [optim.SGD, optim.Adam])
def test_an_optimizer_step_between_forward_and_backward_is_refused(optimizer):
    model, xs, vs = elman_problem()
    opt = optimizer(model.parameters(), lr=0.1)
    nn.sequence_loss(model(xs)[0], vs).backward()
    loss = nn.sequence_loss(model(xs)[0], vs)
    opt.step()                                    # uses the previous gradients: a real write
    with pytest.raises(BackwardError, match="time step t="):
        loss.backward()


def test_load_state_dict_between_forward_and_backward_is_refused():
    model, xs, vs = elman_problem()
    saved = {name: value + 1.0 for name, value in model.state_dict().items()}
    loss = nn.sequence_loss(model(xs)[0], vs)
    model.load_state_dict(saved)
    with pytest.raises(BackwardError):
        loss.backward()


def test_writing_a_row_of_the_stacked_outputs_is_seen_by_the_loss():
    model, xs, vs = elman_problem()
    ys, _ = model(xs)
    loss = nn.sequence_loss(ys, vs)               # mse reads every y[t]
    ys.data[2] = 0.0
    with pytest.raises(BackwardError):
        loss.backward()


def test_a_second_backward_after_a_step_is_refused():
    model, xs, vs = elman_problem()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.sequence_loss(model(xs)[0], vs)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(BackwardError):
        loss.backward()


# --- writes when no graph waits on the value stay silent and change nothing else ---

def test_the_normal_training_loop_is_silent_and_matches_a_fresh_forward():
    model, xs, vs = elman_problem()
    twin, _, _ = elman_problem()
    opt, twin_opt = optim.Adam(model.parameters(), lr=0.05), optim.Adam(twin.parameters(), lr=0.05)
    for _ in range(5):                            # backward, step, zero_grad, forward
        opt.zero_grad()
        nn.sequence_loss(model(xs)[0], vs).backward()
        opt.step()
        twin_opt.zero_grad()
        nn.sequence_loss(twin(xs)[0], vs).backward()
        twin_opt.step()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_a_write_to_an_unrelated_tensor_changes_nothing():
    x, loss = square_loss()
    other = Tensor([5.0])
    other.data[...] = 6.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


def test_a_write_before_the_forward_pass_is_not_an_edit():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.data[...] = 3.0
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_a_write_numpy_refuses_is_not_counted_as_a_write():
    W = Tensor(np.ones((2, 2)), requires_grad=True)
    with tg.memory.collecting() as created:
        pre = W * 2.0
        out = pre.tanh()
    tg.memory.release_unread(created, keep=[out])
    loss = out.sum()
    assert pre.value_released
    with pytest.raises(ValueError):
        pre.data[0, 0] = 1.0                      # a released value is read-only
    loss.backward()                               # nothing was written: backward goes on
    assert W.grad is not None


# --- in-place operators on tensors ---

def test_in_place_operators_update_a_parameter_under_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    same = w
    with no_grad():
        w -= 0.5
        w *= 2.0
    assert w is same
    np.testing.assert_array_equal(w.data, [1.0, 3.0])


def test_in_place_operators_are_refused_where_the_graph_would_miss_them():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(BackwardError, match="no_grad"):
        w += 1.0                                  # a leaf that requires grad, grad mode on
    y = w * 2.0
    with pytest.raises(BackwardError, match="'mul' result"):
        y -= 1.0


@pytest.mark.parametrize("write", [
    lambda buf, v: buf.__iadd__(v),
    lambda buf, v: buf.__setitem__(slice(None), v),
    lambda buf, v: buf.__setitem__(0, v[0]),
], ids=["buf += v", "buf[:] = v", "buf[0] = v[0]"])
def test_writing_a_value_that_requires_grad_into_a_buffer_is_refused(write):
    """A buffer filled step by step: its values would come from y, its graph would not, and
    y.grad would silently stay None (torch records the write; the graph here records none)."""
    y = Tensor([1.0, 2.0], requires_grad=True)
    buf = tg.zeros(2)
    with pytest.raises(BackwardError, match="gradient would be lost"):
        write(buf, y * 2.0)
    np.testing.assert_array_equal(buf.data, [0.0, 0.0])
    with no_grad():                               # dropping the gradient on purpose is fine
        write(buf, y * 2.0)
    write(buf, (y * 2.0).detach())
    assert buf.data[0] != 0.0


# --- what .data hands out behaves as a plain array ---

def test_data_is_an_ndarray_whose_results_are_plain_arrays():
    x = Tensor([1.0, 2.0])
    assert isinstance(x.data, np.ndarray)
    assert type(x.data * 2) is np.ndarray and type(np.exp(x.data)) is np.ndarray
    assert type(pickle.loads(pickle.dumps(x.data))) is np.ndarray
    np.testing.assert_array_equal(x.data + x.data, [2.0, 4.0])


# --- writes the tracked view cannot see are refused, not missed ---

ESCAPES = {
    "np.asarray(x)": lambda x: np.asarray(x).__setitem__(0, 10.0),
    "np.asarray(x) as out=": lambda x: np.add(np.asarray(x), 1.0, out=np.asarray(x)),
    "np.asarray(x.data)": lambda x: np.asarray(x.data).__setitem__(0, 10.0),
    "np.asarray(x.numpy())": lambda x: np.asarray(x.numpy()).__setitem__(0, 10.0),
    "x.data.view(np.ndarray)": lambda x: x.data.view(np.ndarray).__setitem__(0, 10.0),
    "np.asarray(x.detach())": lambda x: np.asarray(x.detach()).__setitem__(0, 10.0),
}


@pytest.mark.parametrize("write", ESCAPES.values(), ids=list(ESCAPES))
def test_a_plain_array_made_from_a_tensor_is_read_only(write):
    """np.asarray(t) is a read-only view (PyTorch refuses np.asarray of a tensor that requires
    grad); a plain array made from .data cannot write either: numpy refuses, the value stays."""
    x, loss = square_loss()
    with pytest.raises(ValueError, match="read-only"):
        write(x)
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


def test_a_memoryview_of_the_data_is_read_only():
    x, loss = square_loss()
    with pytest.raises(TypeError, match="read-only"):
        memoryview(x.data).cast("B")[0] = 7
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])


MORE_WRITES = {
    "flat item": lambda x: x.data.flat.__setitem__(0, 10.0),
    "flat assignment": lambda x: setattr(x.numpy(), "flat", 10.0),
    "np.copyto by keyword": lambda x: np.copyto(dst=x.data, src=np.zeros(3)),
    "np.sum with out=": lambda x: np.sum(np.ones((2, 3)), axis=0, out=x.data),
    "np.dot with out=": lambda x: np.dot(np.ones((3, 2)), np.ones(2), out=x.data),
    "np.fill_diagonal": lambda x: np.fill_diagonal(x.data.reshape(1, 3), 9.0),
    "round with out=": lambda x: x.data.round(out=x.data),
    "x[0] = v under no_grad": lambda x: _setitem_under_no_grad(x),
    "x **= 2 under no_grad": lambda x: _ipow_under_no_grad(x),
}


def _setitem_under_no_grad(x):
    with no_grad():
        x[0] = 10.0


def _ipow_under_no_grad(x):
    with no_grad():
        x **= 2.0


@pytest.mark.parametrize("write", MORE_WRITES.values(), ids=list(MORE_WRITES))
def test_more_writes_to_a_saved_input_are_refused_by_backward(write):
    x, loss = square_loss()
    write(x)
    with pytest.raises(BackwardError, match="'x'.*modified in place"):
        loss.backward()


@pytest.mark.parametrize("write", [lambda x: x.data.flat.__setitem__(0, 5.0),
                                   lambda x: _setitem_under_no_grad(x)], ids=["flat", "x[0] = v"])
def test_writes_when_no_graph_waits_stay_silent_and_take_effect(write):
    x, loss = square_loss()
    loss.backward()
    write(x)
    x.grad = None
    (x * x).sum().backward()
    assert x.grad[1:].tolist() == [4.0, 6.0] and x.grad[0] in (10.0, 20.0)


def test_the_data_says_its_memory_is_writable_and_copies_are_plain():
    x = Tensor([1.0, 2.0])
    assert x.data.flags.writeable and x.numpy().flags.writeable
    copy = np.array(x)
    copy[0] = 5.0                                 # a copy: writable, and not x
    assert x.data[0] == 1.0 and type(np.asarray(x)) is np.ndarray


def test_in_place_power_updates_the_parameter_itself():
    w = Tensor([2.0, 3.0], requires_grad=True)
    same = w
    with no_grad():
        w **= 2.0
    assert w is same and w.data.tolist() == [4.0, 9.0]
    with pytest.raises(BackwardError, match="no_grad"):
        w **= 2.0                                 # grad mode on: refused as += is
