"""Next-value prediction on a real time series: the lecture's "predict the future price" example.

Two real series are available through `price_series(source)`:

"airline" (default, stored in this package as airline_passengers.csv, 144 values)
    International airline passengers, monthly totals in thousands, January 1949 to December 1960:
    Series G of Box & Jenkins, Time Series Analysis: Forecasting and Control (who credit
    R. G. Brown, 1963), the same numbers as `AirPassengers` in R's base `datasets` package.
    Licence: historical measurements published with no licence of their own, redistributed here as
    facts with no copyright claimed. Not a price, but the classic real series with trend and
    seasonality, and it needs nothing beyond numpy.
"goog" (optional, needs matplotlib: `pip install matplotlib`)
    Real daily Google (GOOG) adjusted closing prices in USD, 2004-08-19 to 2008-10-14, 1047
    trading days, read at run time from matplotlib's sample data (mpl-data/sample_data/goog.npz).
    Its origin is Yahoo Finance (matplotlib names finance.yahoo.com for its sibling Stocks.csv).
    tinygrad_rnn does not copy or redistribute it: it is read from your matplotlib installation.

`next_value_task(length, split)` cuts the series at split_index = round(split * n): the first
split_index values are the training part, the rest the test part. Normalization statistics come
from the training part only. Each window is a time-major input xs[t] = z[i + t] and per-step
target ys[t] = z[i + t + 1] for t = 0..length-1 (so ys[-1] is the next value after the window):

    train windows: every target index < split_index     (starts 0 .. split_index - length - 1)
    test windows:  every target index >= split_index    (starts split_index - 1 .. n - length - 1)

A test window's inputs may include the last training value, which is known at forecast time.

    >>> task = next_value_task(12, split=0.75)
    >>> task.train_xs.shape, task.test_ys.shape     # (T, B, 1)
    ((12, 96, 1), (12, 25, 1))
"""
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .. import settings
from ..errors import SettingError
from ..tensor import Tensor

AIRLINE_CSV = "airline_passengers.csv"


@dataclass
class PriceSeries:
    """A real series: dates (n,) datetime64, values (n,) float64, and where it comes from."""

    name: str
    dates: np.ndarray
    values: np.ndarray
    unit: str
    source: str
    licence: str

    def __len__(self):
        return self.values.shape[0]


def _airline():
    text = resources.files(__package__).joinpath(AIRLINE_CSV).read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines()
            if line and not line.startswith("#")][1:]
    return PriceSeries(
        name="airline",
        dates=np.array([month for month, _ in rows], dtype="datetime64[M]"),
        values=np.array([float(count) for _, count in rows]),
        unit="thousands of passengers per month",
        source="Box & Jenkins, Time Series Analysis, Series G (R datasets::AirPassengers)",
        licence="historical facts published without a licence; no copyright claimed",
    )


def _goog():
    try:
        from matplotlib import cbook
    except ImportError as error:
        raise ImportError("price_series('goog') reads matplotlib's sample data: pip install "
                          "matplotlib (or use the built-in 'airline' series)") from error
    prices = cbook.get_sample_data("goog.npz")["price_data"]
    return PriceSeries(
        name="goog",
        dates=np.asarray(prices["date"], dtype="datetime64[D]"),
        values=np.asarray(prices["adj_close"], dtype=np.float64),
        unit="USD (adjusted close)",
        source="matplotlib sample data goog.npz (originally Yahoo Finance)",
        licence="not redistributed by tinygrad_rnn; read from the local matplotlib install",
    )


SOURCES = {"airline": _airline, "goog": _goog}


def price_series(source="airline"):
    """The raw real series `source` ("airline" or "goog") as a PriceSeries."""
    if not isinstance(source, str) or source not in SOURCES:
        raise SettingError(f"price_series: unknown source {source!r}, expected one of "
                           f"{list(SOURCES)}")
    return SOURCES[source]()


@dataclass
class NextValueTask:
    """Train/test windows for next-value prediction, time-major, in normalized units.

    train_xs, train_ys: (T, B_train, 1) float64 inputs and per-step next-value targets
    test_xs, test_ys:   (T, B_test, 1)
    train_starts, test_starts: (B,) int64 series index of each window's first input
    split_index: first index of the test part
    mean, std: statistics of the (log-)training part used for z = (v - mean) / std
    """

    train_xs: np.ndarray
    train_ys: np.ndarray
    test_xs: np.ndarray
    test_ys: np.ndarray
    train_starts: np.ndarray
    test_starts: np.ndarray
    split_index: int
    mean: float
    std: float
    log: bool
    series: PriceSeries

    def normalize(self, values):
        """Map values (any shape) in the series' units to the task's normalized units, as the
        windows were made: z = (log(v) - mean) / std with log, else (v - mean) / std. With
        log, values <= 0 are refused (their log is NaN or -inf), as next_value_task refuses
        them in the series."""
        values = _numbers("normalize", "values", values)
        if self.log and (values <= 0).any():
            raise SettingError(f"normalize: this task models log(values), so values must be "
                               f"positive, got {values[values <= 0].ravel()[0]}")
        return _normalized(values, self.mean, self.std, self.log)

    def denormalize(self, z):
        """Map normalized values (any shape) back to the series' units."""
        v = _numbers("denormalize", "z", z) * self.std + self.mean
        return np.exp(v) if self.log else v

    def windows(self, starts):
        """Inputs and per-step next-value targets (T, B, 1), normalized as train_xs, of the
        windows whose first input is series index starts[b]; e.g. one-step forecasts of months
        m (B,) read their inputs from task.windows(m - T)[0]. Every index must be in the series:
        starts[b] >= 0 and starts[b] + T < len(series)."""
        length = self.train_xs.shape[0]
        starts = np.asarray(starts)
        if starts.ndim == 0:                 # one start: one window, B = 1
            starts = starts.reshape(1)
        if starts.ndim != 1:
            raise SettingError(f"windows: starts must be a 1-D list of series indices (B,), got "
                               f"shape {starts.shape}")
        if starts.dtype.kind not in "iu":
            raise SettingError(f"windows: starts must be integer series indices, got "
                               f"{starts.dtype} values {starts.ravel()[:5]}")
        last = len(self.series) - length - 1
        outside = (starts < 0) | (starts > last)
        if outside.any():
            raise SettingError(f"windows: start {starts[outside].ravel()[0]} is outside the "
                               f"series: a window of {length} steps and its next value need "
                               f"starts in 0..{last}")
        z = self.normalize(self.series.values)
        return _windows(z, starts.astype(np.int64), length)


def _numbers(owner, argument, values):
    """values as a float64 array of real numbers (ints and floats; not bools, complex numbers,
    strings or objects, which float64 would read as 0/1, drop the imaginary part of, or
    parse)."""
    try:
        array = np.asarray(values.data if isinstance(values, Tensor) else values)
    except (TypeError, ValueError) as exc:
        raise SettingError(f"{owner}: {argument} must be numbers ({exc})") from None
    if array.dtype.kind not in "iuf":
        raise SettingError(f"{owner}: {argument} must be real numbers, got {array.dtype} values "
                           f"from {type(values).__name__}")
    return array.astype(np.float64, copy=False)


def _as_series(series):
    if isinstance(series, PriceSeries):
        return series
    if isinstance(series, str):
        return price_series(series)
    values = _numbers("next_value_task", "series (a source name, a PriceSeries or numbers)",
                      series)
    if sum(size > 1 for size in values.shape) > 1:
        raise SettingError(f"next_value_task: series must be one series of values (1-D), got "
                           f"shape {values.shape}; pass each series on its own")
    values = values.reshape(-1)
    return PriceSeries(name="custom", dates=np.arange(values.size), values=values,
                       unit="", source="given array", licence="")


def _normalized(values, mean, std, log):
    values = np.log(values) if log else np.asarray(values, dtype=np.float64)
    return (values - mean) / std


def _windows(z, starts, length):
    steps = starts[None, :] + np.arange(length)[:, None]        # (T, B)
    return z[steps][..., None], z[steps + 1][..., None]


def next_value_task(length, split=0.75, normalize=True, log=False, series="airline"):
    """Windows of `length` steps for next-value prediction on a real series.

    series: a source name for price_series, a PriceSeries, or a 1-D array of values.
    log: model log(values) (the airline series grows multiplicatively).
    normalize: z-score with the training part's mean and std (else mean 0, std 1).
    Returns a NextValueTask; see the module docstring for which windows go where.
    """
    owner = "next_value_task"
    length = settings.positive_int(owner, "length", length)
    split = settings.real(owner, "split", split, low=0, high=1, low_open=True, high_open=True)
    normalize = settings.flag(owner, "normalize", normalize)
    log = settings.flag(owner, "log", log)
    series = _as_series(series)
    if not np.isfinite(series.values).all():
        index = int(np.argwhere(~np.isfinite(series.values))[0, 0])
        raise SettingError(f"{owner}: the series holds {series.values[index]} at index {index}; "
                           f"fill or drop it first")
    if log and (series.values <= 0).any():
        index = int(np.argwhere(series.values <= 0)[0, 0])
        raise SettingError(f"{owner}: log=True needs positive values, the series holds "
                           f"{series.values[index]} at index {index}")
    values = np.log(series.values) if log else series.values
    n = values.size
    split_index = int(round(split * n))
    n_train = split_index - length
    n_test = n - length - split_index + 1
    if length < 1 or n_train < 1 or n_test < 1:
        raise SettingError(f"next_value_task: length={length} and split={split} leave "
                         f"{n_train} train and {n_test} test windows in a series of {n} values")
    if normalize:
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = float(values[:split_index].mean()), float(values[:split_index].std())
        if not (np.isfinite(mean) and np.isfinite(std)):
            raise SettingError(f"{owner}: the training part's mean ({mean}) or standard "
                               f"deviation ({std}) overflows float64; rescale the series first "
                               f"(divide it by its largest value)")
        if std == 0:
            raise SettingError(f"{owner}: the training part is constant ({mean:g}), so it cannot "
                               f"be normalized; pass normalize=False")
    else:
        mean, std = 0.0, 1.0
    z = _normalized(series.values, mean, std, log)      # the same map as NextValueTask.normalize

    train_starts = np.arange(0, n_train, dtype=np.int64)
    test_starts = np.arange(split_index - 1, n - length, dtype=np.int64)
    train_xs, train_ys = _windows(z, train_starts, length)
    test_xs, test_ys = _windows(z, test_starts, length)
    return NextValueTask(train_xs=train_xs, train_ys=train_ys, test_xs=test_xs, test_ys=test_ys,
                         train_starts=train_starts, test_starts=test_starts,
                         split_index=split_index, mean=mean, std=std, log=log, series=series)
