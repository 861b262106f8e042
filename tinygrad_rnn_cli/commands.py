"""The three commands: render (draw the unrolled graph), gradcheck (prove the gradient of every
loss term, or that the truncation loses some), demo (the lecture's figures and both proofs).
Each takes the parsed arguments and returns the exit code; errors are raised, and
command_line.main turns them into one line on stderr."""
import sys
import warnings
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
import viz
from tinygrad_rnn import SettingError, nn
from tinygrad_rnn.gradcheck import expected_tolerance
from tinygrad_rnn.truncation import resolve

from . import limits, outputs
from .problem import build, drops_paths, make_model

DEFAULT_MAX_STEPS = 20      # render draws at most this many steps, eliding the middle


def render(args):
    """Draw the unrolled graph of a small model to args.output (format by its extension)."""
    outputs.check_target(args.output)
    if outputs.is_page(args.output):
        return render_page(args)
    max_steps = DEFAULT_MAX_STEPS if args.max_steps is None else args.max_steps
    limits.check_render(args.steps, max_steps, args.level)
    if args.loss_term is not None and args.loss_term > args.steps:
        raise SettingError(f"--loss-term {args.loss_term}: the loss terms are R[1] .. "
                           f"R[{args.steps}]")
    net, params, xs, vs = build(args.model, args.steps, args.seed)
    ys, _ = net(xs, truncation=args.truncation)
    loss = nn.sequence_loss(ys, vs)
    viz.retain_grads(loss)
    loss.backward()
    graph = viz.to_networkx(loss, params, level=args.level)
    drawn = min(args.steps, max_steps)
    limits.check_layout(graph.number_of_nodes() * drawn // args.steps, drawn, max_steps)
    title = args.title or (f"{args.model} network, T = {args.steps}, "
                           f"truncation: {resolve(args.truncation)!r}")
    dot = viz.to_dot(graph, level=args.level, highlight=args.highlight,
                     max_steps=max_steps, loss_term=args.loss_term,
                     edge_width=args.edge_width, title=title)
    path = outputs.write(outputs.Drawing(loss, params, graph, dot, net, xs, vs, args.truncation),
                         args.output)
    counts = dot.counts
    print(f"wrote {path}: {counts['steps']} steps ({counts['drawn_steps']} drawn), "
          f"{counts['truncated']} edges marked truncated"
          + (f", {counts['highlighted']} edges carry {args.highlight}" if args.highlight else ""))
    return 0


def render_page(args):
    """The explorer page of a small model: every step at step level, under the default
    policies for T and args.truncation; the options that choose what a picture shows (a
    loss term, the level, elision, edge width) do not apply to it and are said to."""
    limits.check_page(args.steps)
    ignored = [option for option, given in (
        ("--level op", args.level != "step"), ("--loss-term", args.loss_term is not None),
        ("--max-steps", args.max_steps is not None), ("--edge-width", args.edge_width))
        if given]
    if ignored:
        verb = "applies" if len(ignored) == 1 else "apply"
        warnings.warn(f"-o {args.output}: {', '.join(ignored)} {verb} to .svg, .png and .dot; "
                      f"the page draws every step at step level and selects any loss term "
                      f"itself (click R[t], or open {Path(args.output).name}#R[t])", stacklevel=2)
    net, params, xs, vs = build(args.model, args.steps, args.seed)
    if args.highlight is not None and args.highlight not in params:
        raise SettingError(f"--highlight {args.highlight}: the {args.model} network's weights "
                           f"are {', '.join(params)}")
    drawing = outputs.Drawing(None, params, None, None, net, xs, vs, args.truncation,
                              args.highlight, args.title or None)   # '' means the default title
    path = outputs.write(drawing, args.output)
    policies = ", ".join(map(repr, outputs.page_policies(args.steps, args.truncation)))
    print(f"wrote {path}: the explorer page, {args.steps} steps, every loss term under "
          f"{policies}")
    return 0


ATOL, RTOL = 1e-5, 1e-3     # gradcheck's atol and rtol (its defaults)


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


def term_gradients(net, params, xs, vs, truncation, terms=None):
    """{name: dR[t]/dW} for t = 1..T in turn: each loss term's gradient on its own, as
    gradcheck's per-step report compares them (one forward pass, a backward pass per term).
    `terms`, a list, receives the loss terms' Tensor (nn.loss_vector) first."""
    ys, _ = net(xs, truncation=truncation)
    if terms is not None:
        terms.append(nn.loss_vector(ys, vs))
    for term in nn.loss_terms(ys, vs):
        for tensor in params.values():
            tensor.grad = None
        term.backward(retain_graph=True)
        yield {name: np.zeros_like(t.data) if t.grad is None else t.grad.copy()
               for name, t in params.items()}
    for tensor in params.values():
        tensor.grad = None


def largest_dropped_share(net, params, xs, vs, truncation):
    """How much of gradcheck's tolerance the truncation's dropped paths use up: the largest
    |full - truncated| / tolerance over the loss terms R[t] and weight elements, where the
    tolerance is what gradcheck allows an element whose numeric side is the full gradient
    exactly (gradcheck.expected_tolerance). At most 1 when every dropped path carries less
    than that (a long window on a network whose gradient fades with the lag), so that the
    truncated gradient passes gradcheck although paths were dropped. Stops at the first term
    past atol + rtol |full|, the most gradcheck ever allows (the share is then above 1)."""
    terms, full, truncated = [], {name: [] for name in params}, {name: [] for name in params}
    try:
        for whole, cut in zip(term_gradients(net, params, xs, vs, "full", terms),
                              term_gradients(net, params, xs, vs, truncation)):
            for name in params:
                full[name].append(whole[name])
                truncated[name].append(cut[name])
                if (np.abs(whole[name] - cut[name]) > ATOL + RTOL * np.abs(whole[name])).any():
                    return np.inf
    finally:
        for tensor in params.values():
            tensor.grad = None
    return max(float(np.max(np.abs(np.subtract(full[name], truncated[name])) /
                            expected_tolerance(terms[0], np.stack(full[name]),
                                               np.stack(truncated[name]), atol=ATOL, rtol=RTOL),
                            initial=0.0))
               for name in params)


def check_gradcheck_size(model, steps, seed=0):
    """Refuse (limits.check_gradcheck) before any work a gradcheck that would run for hours."""
    _, params = make_model(model, seed)
    limits.check_gradcheck(steps, sum(p.data.size for p in params.values()))


def run_gradcheck(model, steps, truncation, seed=0, out=None):
    """Print the per-step gradcheck report; returns (report, predicted_to_pass).

    Predicted to pass: a truncation that drops no gradient path of this model (full BPTT, a
    window or chunk covering the sequence, any truncation of a model without recurrence), or
    one whose dropped paths carry less than gradcheck's tolerance in every loss term's
    gradient (computed exactly, full BPTT against the truncation), as a long window does on a
    network whose gradient fades with the lag."""
    out = out or sys.stdout         # looked up now: tests (and users) may have replaced it
    check_gradcheck_size(model, steps, seed)
    policy = resolve(truncation)
    net, params, xs, vs = build(model, steps, seed)

    def loss_terms():
        ys, _ = net(xs, truncation=policy)
        return nn.loss_vector(ys, vs)

    drops = drops_paths(net, policy, steps)
    share = largest_dropped_share(net, params, xs, vs, policy) if drops else 0.0
    predicted = share <= 1.0
    if not isinstance(net, nn.RecurrentModule):
        why = ("has no recurrence, so the truncation has no path back through time to drop: "
               "the gradient should match finite differences.")
    elif not drops:
        why = "keeps every path back to t = 1, so it should match finite differences."
    elif predicted:
        why = (f"drops paths, but what they carry is within gradcheck's tolerance in every loss "
               f"term (at most {share:.1%} of what it allows), so it should match "
               f"finite differences.")
    else:
        why = "loses the paths the truncation drops, so it should NOT match finite differences."
    print(f"{model} network, T = {steps}, truncation {policy!r}: the gradient {why}", file=out)
    report = tg.gradcheck(loss_terms, list(params.values()), per_step=True, atol=ATOL,
                          rtol=RTOL)
    print(report, file=out)
    if drops:
        print("what the truncation leaves out of dR/dW (|full BPTT - truncated|, relative):",
              file=out)
        for name, (gap, full) in gradient_gap(net, params, xs, vs, policy).items():
            print(f"  {name:4s} {gap:.4g}  ({gap / full:.1%} of |full| = {full:.4g})" if full
                  else f"  {name:4s} {gap:.4g}", file=out)
    as_predicted = bool(report) == predicted
    print(f"verdict: {'passed' if report else 'FAILED'}, "
          + ("as predicted." if as_predicted else "NOT as predicted: this is a bug."), file=out)
    return report, predicted


def gradcheck(args):
    """0 when the verdict is the predicted one, 1 when it is not."""
    report, predicted = run_gradcheck(args.model, args.steps, args.truncation, args.seed)
    return 0 if bool(report) == predicted else 1


FIGURES = (("elman_full_W1.svg", "full", "Elman network unrolled: all blue edges represent W1"),
           ("elman_truncated.svg", "elman",
            "Elman's approximation: h[t-1] treated as a constant "
            "(red dashed: not followed by the gradient)"))


def demo(args):
    """The lecture's figures, then the proof that Elman's rule is not the true gradient."""
    if args.out == "":
        raise SettingError("--out is empty; name the folder for the figures (default ./out)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SettingError(f"--out {out}: is a file; demo writes its figures into a folder "
                           f"(it is made when missing)")
    limits.check_render(args.steps, 20, "step")
    check_gradcheck_size("elman", args.steps, args.seed)
    for filename, truncation, title in FIGURES:
        net, params, xs, vs = build("elman", args.steps, args.seed)
        ys, _ = net(xs, truncation=truncation)
        loss = nn.sequence_loss(ys, vs)
        loss.backward()
        graph = viz.to_networkx(loss, params, level="step")
        dot = viz.to_dot(graph, highlight="W1", title=title)
        path = outputs.write(outputs.Drawing(loss, params, graph, dot), out / filename)
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
        report, predicted = run_gradcheck("elman", args.steps, truncation, args.seed)
        verdicts.append(bool(report) == predicted)
        print()
    return 0 if all(verdicts) else 1
