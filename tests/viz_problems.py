"""Small recorded problems and SVG helpers shared by the tests/test_viz_*.py files."""
import xml.etree.ElementTree as ET

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn

SVG = "{http://www.w3.org/2000/svg}"


def make_model(kind="elman", seed=0):
    if kind == "elman":
        return nn.Elman(2, 3, 1, seed=seed)
    if kind == "jordan":
        return nn.Jordan(2, 3, 1, seed=seed)
    if kind == "mlp":
        return nn.WindowedMLP(2, [3], 1, window=1, seed=seed)
    raise ValueError(kind)


def data(steps, seed=0, batch=1):
    rng = np.random.default_rng(seed + 100)
    return rng.standard_normal((steps, batch, 2)), rng.standard_normal((steps, batch, 1))


def recorded(kind="elman", steps=5, truncation="full", seed=0, backward=True, retain=False,
             model=None):
    """(R, model): the summed loss of a tiny model over `steps` steps, recorded (and, by
    default, differentiated)."""
    import viz
    model = model or make_model(kind, seed)
    xs, vs = data(steps, seed)
    ys, _ = model(xs, truncation=truncation)
    loss = nn.sequence_loss(ys, vs)
    if retain:
        viz.retain_grads(loss)
    if backward:
        loss.backward()
    return loss, model


def parameter_grads(model, truncation, steps, seed=0):
    """{name: dR/dW} from the engine's own backward under `truncation` (an oracle)."""
    model.zero_grad()
    loss, model = recorded(steps=steps, truncation=truncation, seed=seed, model=model)
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    model.zero_grad()
    return grads


def parse(svg_text):
    """The SVG as an ElementTree root (fails loudly on anything that is not XML)."""
    return ET.fromstring(svg_text)


def classes(element):
    return (element.get("class") or "").split()


def groups(root, kind, cls=None):
    """<g> elements whose class names `kind` ("edge", "node", "cluster") and, optionally, cls."""
    return [g for g in root.iter(SVG + "g")
            if kind in classes(g) and (cls is None or cls in classes(g))]


def texts(root):
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def two_steps_by_hand(w):
    """[R[1], R[2]] of h[t] = tanh(x[t] w + h[t-1]) on ones, recorded by hand with step tags
    and names (no model): for weights given any name."""
    h, terms = tg.Tensor(np.zeros((1, 2))), []
    for t in (1, 2):
        with tg.step(t):
            x = tg.Tensor(np.ones((1, 2))).annotate(role="input", name=f"x[{t}]")
            h = (x @ w + h).tanh().annotate(role="state", name=f"h[{t}]")
            terms.append((h * h).sum().annotate(role="loss", name=f"R[{t}]"))
    return terms
