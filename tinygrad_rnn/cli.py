"""The command line (`tinygrad-rnn`, or `python -m tinygrad_rnn`). It sits on top of the
engine and imports the visualizer inside the commands that draw; the engine never imports it.

    tinygrad-rnn render --model elman --steps 6 --truncation elman --highlight W1 -o elman.svg
    tinygrad-rnn gradcheck --model elman --steps 6 --truncation elman
    tinygrad-rnn demo [--out out]

`render` builds a small random model (fixed seed), runs forward and backward, and draws the
unrolled graph. `gradcheck` compares the gradient of every loss term R[t] under the chosen
truncation with finite differences; its exit code is 0 when the verdict is the one the policy
predicts (full BPTT, or a window covering the whole sequence, must pass; a policy that drops
gradient paths must fail) and 1 when it is not: a wrong gradient, or a truncation that drops
nothing. `demo` renders the lecture's two figures and prints the comparison full vs elman.
"""
import argparse
import re
import sys
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.truncation import Full, resolve

MODELS = ("elman", "jordan", "mlp")
INPUTS, HIDDEN, OUTPUTS = 2, 3, 1


def build(model, steps, seed=0):
    """(model, named parameters, xs, vs): a small random problem of `steps` steps, batch 1.
    The per-step MLP's parameters get the lecture's names W1, b1, W2, b2."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, 1, INPUTS))
    vs = rng.standard_normal((steps, 1, OUTPUTS))
    if model == "elman":
        net = nn.Elman(INPUTS, HIDDEN, OUTPUTS, seed=seed)
    elif model == "jordan":
        net = nn.Jordan(INPUTS, HIDDEN, OUTPUTS, seed=seed)
    elif model == "mlp":
        net = nn.WindowedMLP(INPUTS, [HIDDEN], OUTPUTS, window=1, seed=seed)
    else:
        raise tg.SettingError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    params = {}
    for name, tensor in net.named_parameters():
        layer = re.fullmatch(r"mlp\.layer(\d+)\.([Wb])", name)
        params[f"{layer[2]}{int(layer[1]) + 1}" if layer else name] = tensor
    for name, tensor in params.items():
        tensor.name = name            # gradcheck's report names inputs by tensor name
    return net, params, xs, vs


def policy_drops_paths(policy, steps):
    """True when some loss term R[t], t <= steps, loses gradient paths under the policy: a
    cut on its chain between steps 2 and t."""
    if isinstance(policy, Full):
        return False
    for t in range(2, steps + 1):
        chain = policy.chain_for_output(t)
        if any(policy.cuts_before(s, chain) for s in range(2, t + 1)):
            return True
    return False


def render(args):
    import viz
    net, params, xs, vs = build(args.model, args.steps, args.seed)
    ys, _ = net(xs, truncation=args.truncation)
    loss = nn.sequence_loss(ys, vs)
    viz.retain_grads(loss)
    loss.backward()
    graph = viz.to_networkx(loss, params, level=args.level)
    title = args.title or (f"{args.model} network, T = {args.steps}, "
                           f"truncation: {resolve(args.truncation)!r}")
    try:
        dot = viz.to_dot(graph, level=args.level, highlight=args.highlight,
                         max_steps=args.max_steps, loss_term=args.loss_term,
                         edge_width=args.edge_width, title=title)
    except viz.VizError as exc:
        raise SystemExit(f"tinygrad-rnn render: {exc}") from None
    path = viz.render_svg(dot, args.output)
    counts = dot.counts
    print(f"wrote {path}: {counts['steps']} steps ({counts['drawn_steps']} drawn), "
          f"{counts['truncated']} edges marked truncated"
          + (f", {counts['highlighted']} edges carry {args.highlight}" if args.highlight else ""))
    return 0


def gradient_gap(net, params, xs, vs, truncation):
    """{name: (|full - truncated|, |full|)}: what the truncation leaves out of dR/dW."""
    grads = {}
    for policy in ("full", truncation):
        for tensor in params.values():
            tensor.grad = None
        ys, _ = net(xs, truncation=policy)
        nn.sequence_loss(ys, vs).backward()
        grads[policy if policy == "full" else "truncated"] = \
            {name: t.grad.copy() for name, t in params.items()}
    return {name: (float(np.linalg.norm(grads["full"][name] - grads["truncated"][name])),
                   float(np.linalg.norm(grads["full"][name]))) for name in params}


def run_gradcheck(model, steps, truncation, seed=0, out=None):
    """Print the per-step gradcheck report; returns (report, predicted_to_pass)."""
    out = out or sys.stdout         # looked up now: tests (and users) may have replaced it
    policy = resolve(truncation)
    net, params, xs, vs = build(model, steps, seed)

    def loss_terms():
        ys, _ = net(xs, truncation=policy)
        return nn.loss_vector(ys, vs)

    exact = not policy_drops_paths(policy, steps)
    print(f"{model} network, T = {steps}, truncation {policy!r}: the gradient "
          + ("keeps every path back to t = 1, so it should match finite differences."
             if exact else "loses the paths the truncation drops, so it should NOT match finite "
                           "differences."),
          file=out)
    report = tg.gradcheck(loss_terms, list(params.values()), per_step=True)
    print(report, file=out)
    if not exact:
        print("what the truncation leaves out of dR/dW (|full BPTT - truncated|, relative):",
              file=out)
        for name, (gap, full) in gradient_gap(net, params, xs, vs, policy).items():
            print(f"  {name:4s} {gap:.4g}  ({gap / full:.1%} of |full| = {full:.4g})" if full
                  else f"  {name:4s} {gap:.4g}", file=out)
    as_predicted = bool(report) == exact
    print(f"verdict: {'passed' if report else 'FAILED'}, "
          + ("as predicted." if as_predicted else "NOT as predicted: this is a bug."), file=out)
    return report, exact


def gradcheck(args):
    report, exact = run_gradcheck(args.model, args.steps, args.truncation, args.seed)
    return 0 if bool(report) == exact else 1


def demo(args):
    """The lecture's figures, then the proof that Elman's rule is not the true gradient."""
    import viz
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figures = (("elman_full_W1.svg", "full", "Elman network unrolled: all blue edges represent W1"),
               ("elman_truncated.svg", "elman",
                "Elman's approximation: h[t-1] treated as a constant "
                "(red dashed: not followed by the gradient)"))
    for filename, truncation, title in figures:
        net, params, xs, vs = build("elman", args.steps, args.seed)
        ys, _ = net(xs, truncation=truncation)
        loss = nn.sequence_loss(ys, vs)
        loss.backward()
        graph = viz.to_networkx(loss, params, level="step")
        dot = viz.to_dot(graph, highlight="W1", title=title)
        path = viz.render_svg(dot, out / filename)
        paths = viz.path_counts(graph, ["W1"])
        last = paths.terms[-1]
        print(f"wrote {path}: {dot.counts['highlighted']} edges carry W1, "
              f"{dot.counts['truncated']} marked truncated; R[T] reaches W1 along "
              f"{paths.truncated[last, 'W1']} of {paths.full[last, 'W1']} paths")
    print()
    print(viz.gradient_by_lag(loss, params))     # the last figure's loss: recorded under elman
    print()
    verdicts = []
    for truncation in ("full", "elman"):
        report, exact = run_gradcheck("elman", args.steps, truncation, args.seed)
        verdicts.append(bool(report) == exact)
        print()
    return 0 if all(verdicts) else 1


def main(argv):
    parser = argparse.ArgumentParser(prog="tinygrad-rnn", description=__doc__.splitlines()[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub, default_model="elman"):
        sub.add_argument("--model", choices=MODELS, default=default_model)
        sub.add_argument("--steps", "-T", type=int, default=6, help="sequence length T (default 6)")
        sub.add_argument("--truncation", type=_truncation, default="full",
                         help="full, elman, chunked:K or window:H (default full)")
        sub.add_argument("--seed", type=int, default=0)

    draw = commands.add_parser("render", help="draw the unrolled graph of a small model as SVG")
    common(draw)
    draw.add_argument("--level", choices=("step", "op"), default="step")
    draw.add_argument("--highlight", default=None, help="colour the edges of this weight (W1)")
    draw.add_argument("--loss-term", type=int, default=None,
                      help="mark where the gradient of R[t] stops (window:H drops per term)")
    draw.add_argument("--max-steps", type=int, default=20, help="elide beyond this many steps")
    draw.add_argument("--edge-width", action="store_true", help="edge width by |gradient|")
    draw.add_argument("--title", default=None)
    draw.add_argument("-o", "--output", default="unrolled.svg")
    draw.set_defaults(run=render)
    check = commands.add_parser("gradcheck",
                                help="compare each R[t]'s gradient with finite differences")
    common(check)
    check.set_defaults(run=gradcheck)
    show = commands.add_parser("demo", help="render the lecture's figures and prove the gradients")
    show.add_argument("--out", default="out", help="folder for the SVGs (default ./out)")
    show.add_argument("--steps", "-T", type=int, default=5)
    show.add_argument("--seed", type=int, default=0)
    show.set_defaults(run=demo)
    args = parser.parse_args(argv)
    if getattr(args, "steps", 1) < 1:
        parser.error("--steps must be at least 1")
    return args.run(args)


def _truncation(spec):
    try:
        resolve(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec
