"""The command line. It sits on top of the engine (and, for drawing, the visualizer): the
engine modules never import this one.

    tinygrad-rnn demo        train a small network and prove its gradient
"""
import argparse

import numpy as np

import tinygrad_rnn as tg


def demo(args):
    """Fit y = sin(3x) with a one-hidden-layer tanh network, then gradcheck it."""
    rng = np.random.default_rng(args.seed)
    x = tg.Tensor(np.linspace(-1, 1, 64).reshape(-1, 1), name="x")
    v = tg.Tensor(np.sin(3 * x.data), name="v")
    W1 = tg.Tensor(rng.standard_normal((16, 1)), requires_grad=True, name="W1")
    b1 = tg.Tensor(np.zeros(16), requires_grad=True, name="b1")
    W2 = tg.Tensor(rng.standard_normal((1, 16)) / 4, requires_grad=True, name="W2")
    params = [W1, b1, W2]

    def loss():
        return tg.mse_loss((x @ W1.T + b1).tanh() @ W2.T, v)

    for step in range(args.steps):
        for p in params:
            p.grad = None
        value = loss()
        value.backward()
        for p in params:
            p.data -= 0.1 * p.grad
        if step % max(1, args.steps // 5) == 0 or step == args.steps - 1:
            print(f"step {step:4d}  mse {value.item():.5f}")
    report = tg.gradcheck(loss, params)
    print(report)
    return 0 if report else 1


def main(argv):
    parser = argparse.ArgumentParser(prog="tinygrad-rnn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="train a small network and prove its gradient")
    demo_parser.add_argument("--steps", type=int, default=300)
    demo_parser.add_argument("--seed", type=int, default=0)
    demo_parser.set_defaults(run=demo)
    args = parser.parse_args(argv)
    return args.run(args)
