"""Each model's step picture: the weights every edge carries (what a product multiplies its
value by on the way to the next drawn value), where initial states are drawn, and which
inputs appear. (The attributes themselves, ids and truncations: test_viz_record.py.)"""
import numpy as np
import pytest
from viz_problems import recorded

import tinygrad_rnn as tg
import viz


def test_an_edge_carries_every_weight_that_multiplies_its_value_on_the_way():
    """A temporal convolution's x[t] -> y[t] passes its taps and then its head's weight: both
    are carried (the edge carried the taps alone, so highlighting the head coloured nothing);
    a bias, and a weight that multiplies what is added to the value, are not."""
    model = tg.nn.TemporalConv(2, 3, 1, kernel_size=2, seed=0)
    xs = np.random.default_rng(0).standard_normal((3, 1, 2))
    loss = tg.nn.sequence_loss(model(xs)[0], np.zeros((3, 1, 1)))
    G = viz.to_networkx(loss, model, level="step")
    taps, head = "conv0_W", "head.layer0.W"
    assert G.edges["x[2]", "y[2]"]["parameters"] == (taps, head)
    assert G.edges["x[1]", "y[2]"]["parameters"] == (taps, head)      # the earlier tap
    assert G.edges["x[2]", "y[2]"]["parameter"] is None
    data_edges = [a for _, _, a in G.edges(data=True) if a["kind"] == "data"]
    assert viz.to_dot(G, highlight=head).counts["highlighted"] == \
        sum(head in a["parameters"] for a in data_edges) == 5     # x[t] -> y[t], y[t + 1]
    loss, model = recorded(steps=3)          # Elman: x[t] enters Wm h[t-1] + (W1 x[t] + b1)
    G = viz.to_networkx(loss, model, level="step")
    assert G.edges["x[2]", "h[2]"]["parameters"] == ("W1",)


@pytest.mark.parametrize("cell, state", [("Elman", "h0"), ("Jordan", "s1"), ("GRU", "h0"),
                                         ("LSTM", "h0"), ("LSTM", "c0")])
def test_a_learned_initial_state_is_drawn_as_a_state_not_a_weight(cell, state):
    """h0 (learn_initial_state=True) is a parameter, but a state: its edge into step 1 is a
    data edge carrying Wm as h[0]'s does (it was a parameter edge, which the step picture
    does not draw, so h0 stood alone and highlighting Wm missed step 1), and it is not a
    weight that x[1]'s edges carry (x[1] -> h[1] of a GRU carried h0)."""
    model = getattr(tg.nn, cell)(2, 3, 1, seed=0, learn_initial_state=True)
    ys, _ = model(np.random.default_rng(0).standard_normal((3, 1, 2)))
    G = viz.to_networkx(tg.nn.sequence_loss(ys, np.zeros((3, 1, 1))), model, level="step")
    leaving = {v: a for _, v, a in G.out_edges(state, data=True)}
    assert leaving and all(a["kind"] == "data" for a in leaving.values())
    assert any(a["parameters"] == ("Wm",) for a in leaving.values()) == (state != "c0")
    for _, _, a in G.out_edges("x[1]", data=True):
        assert a["parameters"] == ("W1",)
    recurrent_edges = sum("Wm" in a["parameters"] for _, _, a in G.edges(data=True)
                          if a["kind"] == "data")
    assert viz.to_dot(G, highlight="Wm").counts["highlighted"] == recurrent_edges >= 3


@pytest.mark.parametrize("weight", ["W", "W * 2.0", "W.tanh()", "W - W.T", "W @ W.T"])
def test_a_weight_seen_through_an_op_on_it_alone_is_still_that_weight(weight):
    """s[t-1] -> s[t] of s @ f(W).T carries W whatever f computes from W alone: only views
    (W.T) were followed, so W * 2.0 made the edge carry nothing and highlighting W colour
    none."""
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True, name="W")
    U = tg.Tensor(rng.standard_normal((3, 2)) * 0.5, requires_grad=True, name="U")
    seen = {"W": lambda: W, "W * 2.0": lambda: W * 2.0, "W.tanh()": lambda: W.tanh(),
            "W - W.T": lambda: W - W.T, "W @ W.T": lambda: W @ W.T}[weight]
    cell = tg.nn.StateSpace(lambda x, s: ((x @ U.T + s @ seen().T).tanh(),) * 2,
                            initial_state=tg.Tensor(np.zeros(3)), parameters={"W": W, "U": U})
    ys, _ = cell(rng.standard_normal((3, 1, 2)))
    G = viz.to_networkx(tg.nn.sequence_loss(ys, np.zeros((3, 1, 3))), cell, level="step")
    for t in (2, 3):
        assert G.edges[f"s[{t - 1}]", f"s[{t}]"]["parameters"] == ("W",)
        assert G.edges[f"x[{t}]", f"s[{t}]"]["parameters"] == ("U",)
    assert viz.to_dot(G, highlight="W").counts["highlighted"] == 3


def test_a_parameter_an_op_compares_with_is_not_carried_as_a_weight():
    """max(tanh(...), th) with a learned threshold th: th bounds the value, it does not
    multiply it, so no data edge carries th (crediting every non-additive op on the path put
    th on s[t-1] -> s[t] and x[t] -> s[t])."""
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True, name="W")
    U = tg.Tensor(rng.standard_normal((3, 2)) * 0.5, requires_grad=True, name="U")
    th = tg.Tensor(np.full(3, -0.2), requires_grad=True, name="th")
    cell = tg.nn.StateSpace(lambda x, s: (tg.maximum((x @ U.T + s @ W.T).tanh(), th),) * 2,
                            initial_state=tg.Tensor(np.zeros(3)),
                            parameters={"W": W, "U": U, "th": th})
    ys, _ = cell(rng.standard_normal((3, 1, 2)))
    G = viz.to_networkx(tg.nn.sequence_loss(ys, np.zeros((3, 1, 3))), cell, level="step")
    assert G.edges["s[1]", "s[2]"]["parameters"] == ("W",)
    assert G.edges["x[2]", "s[2]"]["parameters"] == ("U",)
    assert viz.to_dot(G, highlight="th").counts["highlighted"] == 0


def test_a_stack_of_state_space_cells_draws_each_layers_initial_state():
    """Each cell's initial state is a tensor made outside the stack: both were named s[0] in
    no scope, and the step picture refused them as one value recorded by two calls; with no
    step, each was drawn among the columns of t = 1, 2 rather than at t = 0."""
    rng = np.random.default_rng(0)

    def cell(name):
        M = tg.Tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True, name=name)
        return tg.nn.StateSpace(lambda x, s: ((x @ M.T + s @ M.T).tanh(),) * 2,
                                initial_state=tg.Tensor(np.zeros((1, 3))), parameters={"M": M})

    cells = [cell("A"), cell("B")]
    for alone in cells:                  # each run on its own first: naming its state stuck
        alone(rng.standard_normal((2, 1, 3)))
    model = tg.nn.Stacked(cells)
    ys, _ = model(rng.standard_normal((2, 1, 3)))
    G = viz.to_networkx(tg.nn.sequence_loss(ys, np.zeros((2, 1, 3))), model, level="step")
    for layer in ("layer0", "layer1"):       # in the t = 0 column, where h[0] is drawn
        assert G.nodes[f"{layer}/s[0]"]["role"] == "state"
        assert G.nodes[f"{layer}/s[0]"]["step"] == 0
        assert G.has_edge(f"{layer}/s[0]", f"{layer}/s[1]")
    assert all(c.initial.name is None for c in cells)        # the caller's tensors unchanged


def test_a_constant_part_of_the_state_passed_on_unchanged_stays_one_node():
    """fn returns its constant c as it got it: c is the one node s[0].1 that feeds every step
    (a new leaf per step would draw it as a chain of unconnected copies)."""
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True, name="W")
    U = tg.Tensor(rng.standard_normal((3, 2)) * 0.5, requires_grad=True, name="U")

    def fn(x, s):
        h, c = s
        h = (x @ U.T + h @ W.T + c).tanh()
        return h, (h, c)

    cell = tg.nn.StateSpace(fn, initial_state=(tg.Tensor(np.zeros((1, 3))),
                                               tg.Tensor(np.ones((1, 3)))),
                            parameters={"W": W, "U": U})
    ys, _ = cell(rng.standard_normal((4, 1, 2)))
    G = viz.to_networkx(tg.nn.sequence_loss(ys, np.zeros((4, 1, 3))), cell, level="step")
    assert not any(n.endswith("].1") and n != "s[0].1" for n in G.nodes)
    assert {v for _, v in G.out_edges("s[0].1")} == {f"s[{t}].0" for t in range(1, 5)}


def test_a_windowed_mlp_shows_the_inputs_its_window_holds():
    """y[t] of the "large MLP" reads x[t-w+1..t]: the window concatenates constants, and as a
    leaf it hid every x[t] from the picture (window 1 showed them)."""
    model = tg.nn.WindowedMLP(2, [3], 1, window=3, seed=0)
    xs = np.random.default_rng(0).standard_normal((4, 1, 2))
    loss = tg.nn.sequence_loss(model(xs)[0], np.zeros((4, 1, 1)))
    loss.backward()
    G = viz.to_networkx(loss, model, level="step")
    inputs = {(u, v) for u, v, a in G.edges(data=True) if u.startswith("x[")}
    assert inputs == {(f"x[{s}]", f"h[{t}]") for t in range(1, 5) for s in range(t - 2, t + 1)
                      if s >= 1}
    assert all(G.edges[e]["parameters"] == ("mlp.layer0.W",) for e in inputs)
    for weight in model.parameters():           # a frozen model records no graph for it
        weight.requires_grad = False
    assert model(xs)[0].is_leaf
