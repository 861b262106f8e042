"""Next-value prediction on a real series: the lecture's "predict the future price" example.

Data: international airline passengers, monthly totals in thousands, 1949-1960 (Box & Jenkins,
Series G; R's AirPassengers), shipped with tinygrad_rnn.data. The last 25% of the months are
the test part; of the months before, the last `--val-months` are a validation part and the
rest the training part. The models see log(passengers), z-scored with the training part's
statistics, in windows of `length` months, and are trained to predict every next month of a
window (the lecture's R = sum_t L(y[t], v[t])).

Each network predicts the change from the last value (its forecast is x[t] + y[t]), so "no
change" is where it starts, not something it must learn. With about a hundred training windows
the networks overfit as training goes on, so each one keeps the weights of its best
validation RMSE (early stopping; the test part is never looked at). On the test months each
model makes one-step-ahead forecasts from the previous `length` months; RMSE is in thousands
of passengers. Baselines: the last value (naive), and the value twelve months earlier
(seasonal naive).

    python examples/price_prediction.py            # default size (about 25 seconds)
    python examples/price_prediction.py --quick
"""
import sys
import time

import numpy as np
from common import (
    argument_parser,
    fraction,
    markdown_table,
    parse,
    positive_int,
    predict,
    pyplot,
    reporting_errors,
    save_figure,
    seed_for,
    train,
    training_options,
)

from tinygrad_rnn import SettingError, Tensor, nn
from tinygrad_rnn.data import next_value_task, price_series


def build_models(config, seed):
    """{label: (model, truncation)}: one input, one output, `hidden` units each."""
    H, L = config.hidden, config.length
    return {
        "Elman, full BPTT": (nn.Elman(1, H, 1, seed=seed), "full"),
        "Elman, Elman's truncation": (nn.Elman(1, H, 1, seed=seed), "elman"),
        f"Jordan (mu={config.mu}), full BPTT":
            (nn.Jordan(1, H, 1, mu=config.mu, seed=seed), "full"),
        f"windowed MLP (window {L})": (nn.WindowedMLP(1, [H], 1, window=L, seed=seed), "full"),
    }


def forecast_inputs(task, months):
    """Inputs (T, M, 1), in the task's normalized units, for one-step forecasts of `months`:
    the T months before each, cut and normalized as the training windows."""
    xs, _ = task.windows(np.asarray(months) - task.train_xs.shape[0])
    return xs


def forecast(model, policy, task, xs):
    """One-step forecasts (M,) in the series' units, read at the last step: x[T] + y[T]."""
    return task.denormalize(xs[-1, :, 0] + predict(model, xs, policy)[-1, :, 0])


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def fit_one(model, policy, task, validation, config, description):
    """Full-batch Adam on the training windows; returns the step whose validation RMSE was
    best and that RMSE, with the model's weights put back to that step's."""
    val_xs, val_truth = validation
    inputs = Tensor(task.train_xs)
    best = {"rmse": np.inf, "step": 0, "state": model.state_dict()}

    def loss_of_step(step):
        ys, _ = model(task.train_xs, truncation=policy)
        return nn.sequence_loss(ys + inputs, task.train_ys, loss="mse", time_reduction="mean")

    def early_stopping(step, loss_value):
        if (step + 1) % config.eval_every == 0 or step + 1 == config.steps:   # and the last
            error = rmse(forecast(model, policy, task, val_xs), val_truth)
            if error < best["rmse"]:
                best.update(rmse=error, step=step + 1, state=model.state_dict())

    train(model, loss_of_step, config.steps, config.lr, clip=config.clip, description=description,
          progress=not config.no_progress, callback=early_stopping)
    model.load_state_dict(best["state"])
    return best["step"], best["rmse"]


def plot(series, split_index, val_months, test_months, forecasts, config):
    plt = pyplot()
    if plt is None:
        return
    fig, (whole, test) = plt.subplots(1, 2, figsize=(13, 4.5),
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    whole.plot(series.dates, series.values, color="black", label="truth")
    whole.axvspan(series.dates[val_months[0]], series.dates[split_index], color="gold", alpha=0.3,
                  label="validation")
    whole.axvspan(series.dates[split_index], series.dates[-1], color="gray", alpha=0.2,
                  label="test")
    whole.set_title(f"{series.name}: {series.source}", fontsize=8)
    whole.set_ylabel(series.unit)
    whole.legend(fontsize=8)
    dates = series.dates[test_months]
    test.plot(dates, series.values[test_months], color="black", linewidth=2, label="truth")
    for label, (values, error) in forecasts.items():
        test.plot(dates, values, marker=".", label=f"{label} (RMSE {error:.1f})")
    test.set_title(f"one-step forecasts of the test months (networks: seed {config.seed}, run 0)",
                   fontsize=10)
    test.set_ylabel(series.unit)
    test.legend(fontsize=7)
    fig.autofmt_xdate()
    save_figure(plt, fig, config.out, "price_prediction.png")


def parse_arguments(argv):
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--length", type=positive_int, default=12, help="months per window")
    parser.add_argument("--test-fraction", type=fraction, default=0.25,
                        help="last part for testing")
    parser.add_argument("--val-months", type=positive_int, default=12,
                        help="months before the test part used for early stopping")
    training_options(parser, steps=1000, seeds=3, hidden=16, lr=1e-2)
    parser.add_argument("--eval-every", type=positive_int, default=25,
                        help="steps between validations")
    parser.add_argument("--mu", type=float, default=0.5, help="Jordan's moving-average factor")
    config = parse(parser, argv)
    if config.quick:
        config.steps, config.seeds = 300, 1
    if config.length < 12:
        parser.error("--length must be at least 12 (the seasonal baseline looks 12 months back)")
    return config


def main(argv=None):
    config = parse_arguments(argv)
    started, cpu_started = time.perf_counter(), time.process_time()
    series = price_series("airline")
    n = len(series)
    split_index = int(round((1 - config.test_fraction) * n))
    train_end = split_index - config.val_months
    if split_index >= n or train_end < 2 * config.length:
        raise SettingError(f"--test-fraction {config.test_fraction} and --val-months "
                           f"{config.val_months} leave {max(train_end, 0)} months to train on "
                           f"and {n - split_index} to test on, of {n}; training needs at least "
                           f"2 x --length = {2 * config.length} months and the test at least one")
    # next_value_task's training part ends at train_end; its statistics come from there only.
    task = next_value_task(config.length, split=train_end / n, log=True, series=series)
    if task.split_index != train_end:
        raise RuntimeError(f"next_value_task put the split at {task.split_index}, not {train_end}")
    val_months, test_months = np.arange(train_end, split_index), np.arange(split_index, n)
    val_xs, test_xs = (forecast_inputs(task, m) for m in (val_months, test_months))
    truth = series.values[test_months]
    print(f"data: {series.name}, {n} months {series.dates[0]} to {series.dates[-1]}, {series.unit}")
    print(f"source: {series.source}; licence: {series.licence}")
    print(f"train: {series.dates[0]} to {series.dates[train_end - 1]} ({task.train_xs.shape[1]} "
          f"windows of {config.length} months); validation (early stopping): "
          f"{series.dates[train_end]} to {series.dates[split_index - 1]}; test: one-step "
          f"forecasts of {len(test_months)} months, {series.dates[split_index]} to "
          f"{series.dates[-1]}")

    forecasts = {
        "naive (last value)": series.values[test_months - 1],
        "seasonal naive (12 months back)": series.values[test_months - 12],
    }
    errors = {label: [rmse(values, truth)] for label, values in forecasts.items()}
    stops = {}
    for run in range(config.seeds):
        for label, (model, policy) in build_models(config, seed_for(config.seed, run)).items():
            step, val_error = fit_one(model, policy, task, (val_xs, series.values[val_months]),
                                      config, f"{label}, seed {run}")
            values = forecast(model, policy, task, test_xs)
            errors.setdefault(label, []).append(rmse(values, truth))
            stops.setdefault(label, []).append(step)
            if run == 0:
                forecasts[label] = values
            print(f"seed {run}  {label:32s} best validation RMSE {val_error:6.2f} at step "
                  f"{step:4d}; test RMSE {errors[label][-1]:6.2f}", flush=True)

    rows = [[label, f"{np.mean(e):.1f}", "-" if len(e) == 1 else f"{np.std(e):.1f}",
             f"{min(e):.1f}-{max(e):.1f}",
             ", ".join(str(s) for s in stops[label]) if label in stops else "-"]
            for label, e in errors.items()]
    print(f"\nTest RMSE in thousands of passengers ({len(test_months)} one-step forecasts, "
          f"{series.dates[split_index]} to {series.dates[-1]}; networks: mean over "
          f"{config.seeds} seed(s))\n")
    print(markdown_table(["model", "test RMSE", "std over seeds", "range", "early-stopping step"],
                         rows))
    plot(series, split_index, val_months, test_months,
         {label: (values, errors[label][0]) for label, values in forecasts.items()}, config)
    print(f"\nwall time {time.perf_counter() - started:.0f} s; "
          f"{time.process_time() - cpu_started:.0f} CPU seconds")
    return 0


if __name__ == "__main__":
    sys.exit(reporting_errors(main, sys.argv[1:]))
