"""The real series and the next-value windows cut from it."""
import sys
from importlib import resources

import numpy as np
import pytest

from tinygrad_rnn.data import PriceSeries, next_value_task, price_series

# Box & Jenkins Series G, first and last years, typed from the published table.
AIRLINE_1949 = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
AIRLINE_1960 = [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432]


def test_airline_series_is_the_documented_table():
    series = price_series()
    assert len(series) == 144 and series.values.dtype == np.float64
    assert np.isfinite(series.values).all()
    assert str(series.dates[0]) == "1949-01" and str(series.dates[-1]) == "1960-12"
    assert (np.diff(series.dates) == np.timedelta64(1, "M")).all()
    np.testing.assert_array_equal(series.values[:12], AIRLINE_1949)
    np.testing.assert_array_equal(series.values[-12:], AIRLINE_1960)
    assert series.values.sum() == 40363          # mean 280.30, as usually quoted for the series


def test_csv_names_its_source_and_licence_and_is_small():
    csv = resources.files("tinygrad_rnn.data").joinpath("airline_passengers.csv")
    header = [line for line in csv.read_text().splitlines() if line.startswith("#")]
    assert any("Source:" in line for line in header) and any("Licence:" in line for line in header)
    assert len(csv.read_bytes()) < 100_000


def test_windows_shapes_and_per_step_next_value_targets():
    task = next_value_task(12, split=0.75)
    assert task.split_index == 108
    assert task.train_xs.shape == task.train_ys.shape == (12, 96, 1)
    assert task.test_xs.shape == task.test_ys.shape == (12, 25, 1)
    # Each target is the next input: ys[t] == xs[t + 1].
    np.testing.assert_array_equal(task.train_ys[:-1], task.train_xs[1:])
    np.testing.assert_array_equal(task.test_ys[:-1], task.test_xs[1:])
    raw = price_series().values
    for xs, ys, starts in [(task.train_xs, task.train_ys, task.train_starts),
                           (task.test_xs, task.test_ys, task.test_starts)]:
        for b in (0, len(starts) - 1):
            i = starts[b]
            np.testing.assert_allclose(task.denormalize(xs[:, b, 0]), raw[i:i + 12])
            np.testing.assert_allclose(task.denormalize(ys[-1, b, 0]), raw[i + 12])


def test_targets_fall_on_their_side_of_the_split():
    task = next_value_task(10, split=0.7)
    train_target_index = task.train_starts[:, None] + np.arange(1, 11)
    test_target_index = task.test_starts[:, None] + np.arange(1, 11)
    assert train_target_index.max() == task.split_index - 1
    assert test_target_index.min() == task.split_index
    assert test_target_index.max() == 143                # the test part is used to its end


def test_normalization_uses_the_training_part_only():
    raw = price_series().values
    task = next_value_task(12, split=0.75)
    assert task.mean == pytest.approx(raw[:108].mean())
    assert task.std == pytest.approx(raw[:108].std())
    assert abs(task.train_xs.mean()) < 0.2                # centred by its own statistics
    # Changing the future must not change anything computed from the past.
    future_changed = raw.copy()
    future_changed[108:] = future_changed[108:] * 10 + 1000
    other = next_value_task(12, split=0.75, series=future_changed)
    assert (other.mean, other.std) == (task.mean, task.std)
    np.testing.assert_array_equal(other.train_xs, task.train_xs)
    np.testing.assert_array_equal(other.train_ys, task.train_ys)
    assert not np.array_equal(other.test_ys, task.test_ys)


def test_log_and_unnormalized_variants_invert():
    raw = price_series().values
    plain = next_value_task(6, split=0.5, normalize=False)
    np.testing.assert_array_equal(plain.train_xs[:, 0, 0], raw[:6])
    logged = next_value_task(6, split=0.5, log=True)
    assert logged.mean == pytest.approx(np.log(raw[:72]).mean())
    np.testing.assert_allclose(logged.denormalize(logged.test_ys[-1, -1, 0]), raw[-1])


def test_a_plain_array_and_a_price_series_are_accepted():
    values = np.arange(20.0)
    task = next_value_task(3, split=0.5, normalize=False, series=values)
    assert isinstance(task.series, PriceSeries) and task.train_xs.shape == (3, 7, 1)
    np.testing.assert_array_equal(task.train_ys[-1, :, 0], np.arange(3, 10))


def test_too_long_windows_are_rejected():
    with pytest.raises(ValueError, match="length=200"):
        next_value_task(200)
    with pytest.raises(ValueError, match="unknown source"):
        price_series("nasdaq")


def test_goog_prices_from_matplotlib():
    pytest.importorskip("matplotlib")
    goog = price_series("goog")
    assert len(goog) == 1047 and np.isfinite(goog.values).all()
    assert str(goog.dates[0]) == "2004-08-19" and (np.diff(goog.dates) > np.timedelta64(0)).all()
    task = next_value_task(20, series=goog)
    assert task.train_xs.shape[0] == 20


def test_goog_without_matplotlib_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        price_series("goog")


def test_normalize_and_windows_cut_new_windows_as_the_task_did():
    raw = price_series().values
    task = next_value_task(12, split=0.75, log=True)
    # The normalization written out: z = (log(v) - mean) / std, mean and std of log(raw[:108]).
    logged = np.log(raw)
    expected = (logged - logged[:108].mean()) / logged[:108].std()
    np.testing.assert_allclose(task.normalize(raw), expected, rtol=1e-12)
    np.testing.assert_allclose(task.denormalize(task.normalize(raw)), raw)
    for starts, xs, ys in [(task.train_starts, task.train_xs, task.train_ys),
                           (task.test_starts, task.test_xs, task.test_ys)]:
        new_xs, new_ys = task.windows(starts)
        np.testing.assert_array_equal(new_xs, xs)
        np.testing.assert_array_equal(new_ys, ys)
    # One-step inputs of month 120: months 108..119, the next value month 120.
    xs, ys = task.windows([120 - 12])
    np.testing.assert_allclose(task.denormalize(xs[:, 0, 0]), raw[108:120])
    np.testing.assert_allclose(task.denormalize(ys[-1, 0, 0]), raw[120])
