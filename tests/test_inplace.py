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


# --- memory the engine does not own: operands, inputs, targets ---

def test_a_numpy_operand_written_after_forward_is_refused():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    weights = np.array([4.0, 5.0, 6.0])
    loss = (weights * x).sum()
    weights[0] = 0.0
    with pytest.raises(BackwardError, match=r"numpy array of shape \(3,\).*written after"):
        loss.backward()
    assert x.grad is None
    weights[0] = 4.0                              # the same values again: nothing to refuse
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 5.0, 6.0])


@pytest.mark.parametrize("array", ["xs", "vs"])
def test_an_input_sequence_or_targets_written_after_forward_are_refused(array):
    model, xs, vs = elman_problem()
    loss = nn.sequence_loss(model(xs)[0], vs)
    {"xs": xs, "vs": vs}[array][1] = 0.0
    with pytest.raises(BackwardError, match="written after"):
        loss.backward()


@pytest.mark.parametrize("view", ["np.asarray of a tensor", "broadcast_to", "read-only view"])
def test_a_read_only_view_of_memory_that_is_written_is_watched_too(view):
    """A read-only array whose base is writable can change: it was taken as unchangeable, so
    a write to its base after forward gave W1.grad off by about 1."""
    model, xs, vs = elman_problem()
    source = Tensor(xs) if view == "np.asarray of a tensor" else xs.copy()
    if view == "np.asarray of a tensor":
        given = np.asarray(source)
    elif view == "broadcast_to":
        source = xs[:1].copy()
        given = np.broadcast_to(source, xs.shape)
    else:
        given = source.view()
        given.setflags(write=False)
    assert not given.flags.writeable
    loss = nn.sequence_loss(model(given)[0], vs)
    if view == "np.asarray of a tensor":
        source.data[...] = 0.0
    else:
        source[...] = 0.0
    with pytest.raises(BackwardError, match="written after"):
        loss.backward()


def test_an_operand_given_as_another_tensors_data_shares_its_write_stamps():
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0])
    loss = (x * w.data).sum()
    w.data[0] = 9.0
    with pytest.raises(BackwardError, match="modified in place"):
        loss.backward()


def test_an_index_array_is_kept_as_it_was_at_forward():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    index, mask = np.array([0, 0]), Tensor([True, False, True])
    loss = x[index].sum() + (x[mask] * 2.0).sum()
    index[...] = 2
    mask.data[...] = False
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 0.0, 2.0])


def test_rebinding_shares_a_tensor_and_copies_an_array():
    x, other, array = Tensor([0.0, 0.0]), Tensor([1.0, 2.0]), np.array([1.0, 2.0])
    x.data = other                                # shares, as in PyTorch
    other.data[0] = 9.0
    assert x.data.tolist() == [9.0, 2.0]
    w = Tensor([0.0, 0.0], requires_grad=True)
    w.data = array                                # a copy: later writes to array are not w's
    loss = (w * w).sum()
    array[0] = 5.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    y = Tensor([0.0, 0.0], requires_grad=True)
    y.data = other.data
    loss = (y * y).sum()
    other.data[1] = 7.0                           # y shows other's memory: the write is seen
    with pytest.raises(BackwardError):
        loss.backward()


def test_a_tensor_that_requires_grad_refuses_bool_data_and_keeps_its_value():
    """Its gradient would be a bool array (torch refuses the same assignment)."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    for mask in (np.array([True, False]), Tensor([1.0, 0.0]) > 0):
        with pytest.raises(tg.DTypeError, match="requires grad"):
            w.data = mask
    assert w.dtype == np.float64 and w.data.tolist() == [1.0, 2.0]
    constant = Tensor([1.0, 2.0])
    constant.data = np.array([True, False])        # no gradient: a mask is fine
    assert constant.dtype == bool


def test_a_read_only_array_assigned_to_data_is_copied_so_an_optimizer_can_step():
    w = Tensor([1.0, 1.0], requires_grad=True)
    w.data = np.broadcast_to(1.0, (2,))
    w.grad = np.ones(2)
    optim.SGD([w], lr=1.0).step()
    np.testing.assert_array_equal(w.data, [0.0, 0.0])


# --- released values and checkpoints ---

def test_releasing_a_value_a_vjp_reads_is_refused_and_one_it_does_not_is_not():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    loss = (y * y).sum()
    y.release_value()
    with pytest.raises(BackwardError, match="released.*'mul'"):
        loss.backward()
    z = x * 3.0
    loss = z.tanh().sum()                         # tanh's vjp reads its output, not z
    z.release_value()
    loss.backward()
    np.testing.assert_allclose(x.grad, 3.0 * (1.0 - np.tanh([3.0, 6.0]) ** 2))


def test_a_released_value_is_refused_as_a_write_and_stays_nan():
    x = Tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2.0, x * 3.0
    a.release_value()
    b.release_value()
    for write in (lambda: a.data.__setitem__(0, 1.0), lambda: a.data.flat.__setitem__(0, 1.0)):
        with pytest.raises(ValueError, match="read-only"):
            write()
    with no_grad(), pytest.raises(BackwardError, match="released"):
        a[0] = 1.0
    assert np.isnan(b.data).all()                 # the placeholder all released values share
    assert "value released, shape (2,)" in repr(b)


def test_an_op_on_a_released_value_is_refused_not_computed_as_nan():
    """A cell that kept a node of step 1 for later steps computed with its NaN placeholder
    from step 2 on, without a word (detect_anomaly could not tell either: NaN in, NaN out)."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    a = w * 3.0
    a.release_value()
    uses = {"mul": lambda: a * 2.0, "tanh": lambda: a.tanh(), "stack": lambda: tg.stack([a, a]),
            "add": lambda: a + w, "linear": lambda: tg.linear(a, Tensor(np.ones((3, 2)))),
            "matmul": lambda: a @ Tensor(np.ones((2, 2))), "getitem": lambda: a[0],
            ">": lambda: a > 0, "norm": lambda: a.norm()}
    for op, use in uses.items():
        with pytest.raises(BackwardError, match=f"^{op}: an operand is a value that was "
                                                f"released to save memory"):
            use()

    class KeepsANode(nn.Elman):
        def step(self, x, h, t, projection=None):
            if t == 1:
                self.kept = self.b2 * 2.0              # made in step 1, released at its end
            y, h = super().step(x, h, t, projection)
            return y + self.kept, h
    model = KeepsANode(3, 4, 2, seed=0)
    with pytest.raises(BackwardError, match="released to save memory.* at time step t=2"):
        model(np.ones((3, 1, 3)))


def test_a_checkpoint_whose_recomputation_differs_is_refused():
    from tinygrad_rnn.checkpoint import checkpoint
    x, W = Tensor([1.0, 2.0], requires_grad=True), Tensor([2.0, 2.0], requires_grad=True)
    out = checkpoint(lambda x: x * W, x)
    W.data[...] = 5.0                             # a parameter the segment closes over
    with pytest.raises(BackwardError, match="checkpoint: the tensor of shape .2,. that the "
                                            "checkpointed fn reads was written after"):
        out.sum().backward()
    zero = Tensor([0.0, 0.0], requires_grad=True)
    out = checkpoint(lambda x: x * W, zero)        # the same outputs whatever W holds
    W.data[...] = 6.0
    with pytest.raises(BackwardError, match="written after the forward pass"):
        out.sum().backward()
    tg.manual_seed(0)
    out = checkpoint(lambda x: x * tg.randn(2), x)     # a random draw inside
    with pytest.raises(BackwardError, match="deterministic"):
        out.sum().backward()


@pytest.mark.parametrize("name", ["W1", "b1"])
def test_a_write_hidden_by_the_cached_input_projection_is_refused(name):
    """T <= 64: the recomputed segments replay W1 x + b1 from the forward pass's cache, so the
    outputs match and the write went unseen; the vjp of x then read the new W1 (xs.grad off
    by 0.4)."""
    rng = np.random.default_rng(0)
    model = nn.Elman(3, 4, 2, seed=0)
    xs = Tensor(rng.standard_normal((6, 2, 3)), requires_grad=True)
    ys, _ = model(xs, checkpoint_every=2)
    loss = nn.sequence_loss(ys, rng.standard_normal((6, 2, 2)))
    getattr(model, name).data[...] += 0.5
    with pytest.raises(BackwardError, match=f"'{name}' .* was written after the forward pass"):
        loss.backward()


def test_an_optimizer_step_before_a_checkpointed_backward_is_refused():
    model, xs, vs = elman_problem()
    opt = optim.SGD(model.parameters(), lr=0.5)
    nn.sequence_loss(model(xs)[0], vs).backward()
    loss = nn.sequence_loss(model(xs, checkpoint_every=2)[0], vs)
    opt.step()
    with pytest.raises(BackwardError, match="checkpoint"):
        loss.backward()
