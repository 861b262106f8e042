"""In-place edits of what a graph reads but neither owns nor keeps (inplace.py, memory.py,
checkpoint.py): numpy arrays taken as operands, inputs and targets; values released to save
memory; parameters a checkpointed segment reads when it reruns. Each write is refused by
backward with a BackwardError rather than giving the gradient of values the graph never
computed. (Writes to tensors themselves: test_inplace.py.)"""
import numpy as np
import pytest
from test_inplace import elman_problem

import tinygrad_rnn as tg
from tinygrad_rnn import BackwardError, Tensor, nn, no_grad, optim
from tinygrad_rnn.checkpoint import checkpoint

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


def test_a_released_value_is_refused_where_numpy_would_copy_or_multiply_it():
    """Numpy copies a released value's NaN placeholder, and takes it as another array's
    operand (W.dot(released)), without asking it: each of these gave NaN as if it were the
    value. Its repr and .data still show that it was released."""
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    a = w * 3.0
    s = w.sum() * 1.0
    a.release_value()
    s.release_value()
    other = Tensor(np.zeros((2, 3)))
    uses = {"W @ a": lambda: Tensor(np.ones((4, 2))) @ a,
            "linear, a the weight": lambda: tg.linear(Tensor(np.ones((5, 3))), a),
            "cut": lambda: a.cut(), "detach": lambda: a.detach(), "Tensor(a)": lambda: Tensor(a),
            "Tensor(a.data)": lambda: Tensor(a.data), "x + a.data": lambda: other + a.data,
            "x.data = a": lambda: setattr(other, "data", a),
            "checkpoint": lambda: checkpoint(lambda v: v * 2.0, a),
            "np.asarray": lambda: np.asarray(a), "np.array": lambda: np.array(a),
            "tolist": lambda: a.tolist(), "float": lambda: float(s), "item": lambda: s.item(),
            "bool": lambda: bool(s), "int": lambda: int(s), "format": lambda: f"{s:.3f}"}
    for what, use in uses.items():
        with pytest.raises(BackwardError, match="released to save memory"):
            use()
            pytest.fail(f"{what} computed with the released value")
    np.testing.assert_array_equal(other.data, np.zeros((2, 3)))
    assert "value released, shape ()" in repr(s) and np.isnan(a.data).all()


def test_a_checkpoint_whose_recomputation_differs_is_refused():
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


def test_a_checkpointed_weight_rebound_to_another_tensors_memory_is_refused():
    """W.data = Q.data gives W Q's memory: the stamp of that change is W's own, which the
    checkpoint's check did not read, so backward recomputed with Q's values (x.grad 5, where
    forward used 1)."""
    x = Tensor(np.zeros(3), requires_grad=True)
    W = Tensor(np.ones(3), requires_grad=True, name="W")
    y = checkpoint(lambda x: x * W, x)
    W.data = Tensor(np.full(3, 5.0)).data
    with pytest.raises(BackwardError, match="'W' .* was written after the forward pass"):
        y.sum().backward()
    assert x.grad is None
