"""Nothing silently wrong, the data loaders (tinygrad_rnn.data): every argument of the tasks
and the price series checked, seeds of every kind taken, and batches indexed in range. Each
case asserts the error type and a phrase of its message, or the right value."""
import numpy as np
import pytest
from refusals import cases, refuses

from tinygrad_rnn import SettingError, TensorIndexError, data

# --- data loaders ---

DATA_REFUSALS = {
    "pronoun n_samples 0": (lambda: data.pronoun_task(0, 3), "n_samples"),
    "pronoun n_samples 2.5": (lambda: data.pronoun_task(2.5, 3), "n_samples", "2.5"),
    "pronoun distance 0": (lambda: data.pronoun_task(4, 0), "distances must be >= 1"),
    "pronoun distance 2.5": (lambda: data.pronoun_task(4, 2.5), "distances", "2.5"),
    "pronoun seed 'a'": (lambda: data.pronoun_task(4, 3, seed="a"), "seed", "'a'"),
    "pronoun seed -1": (lambda: data.pronoun_task(4, 3, seed=-1), "seed", "-1"),
    "pronoun no distances": (lambda: data.pronoun_task_mixed(4, []), "distances"),
    "pronoun a str distance": (lambda: data.pronoun_task_mixed(4, [2, "a"]), "distances"),
    "encode an unknown word": (lambda: data.encode(["Zebra"]), "'Zebra'", "vocabulary"),
    "encode a str": (lambda: data.encode("Julia"), "list of words", "'Julia'"),
    "encode nothing": (lambda: data.encode([]), "empty"),
    "talks n_talks 0": (lambda: data.talks_task(0, 20), "talks_task", "n_talks"),
    "talks length 0": (lambda: data.talks_task(4, 0), "length"),
    "talks length 20.5": (lambda: data.talks_task(4, 20.5), "length", "20.5"),
    "talks n_features 0": (lambda: data.talks_task(4, 20, n_features=0), "n_features"),
    "talks noise -1": (lambda: data.talks_task(4, 20, noise=-1), "noise"),
    "talks keyword_length 0": (lambda: data.talks_task(4, 20, keyword_length=0),
                               "keyword_length"),
    "talks n_keywords 0": (lambda: data.talks_task(4, 20, n_keywords=0), "n_keywords"),
    "talks quiet_tail -3": (lambda: data.talks_task(4, 20, quiet_tail=-3), "quiet_tail"),
    "next value length 0": (lambda: data.next_value_task(0), "next_value_task", "length"),
    "next value length 12.5": (lambda: data.next_value_task(12.5), "length", "12.5"),
    "next value split 1.5": (lambda: data.next_value_task(12, split=1.5), "split", "(0, 1)"),
    "next value split NaN": (lambda: data.next_value_task(12, split=np.nan), "split", "nan"),
    "next value a NaN in the series": (lambda: data.next_value_task(
        2, series=[1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), "nan at index 1"),
    "next value a constant series": (lambda: data.next_value_task(2, series=[5.0] * 12),
                                     "constant", "normalize=False"),
    "next value log of a negative": (lambda: data.next_value_task(
        2, series=[1.0, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], log=True), "log=True", "-2.0"),
    "next value a series of words": (lambda: data.next_value_task(2, series=["a", "b"]),
                                     "series"),
    "windows before the series": (lambda: data.next_value_task(12).windows([-5]), "-5",
                                  "0..131"),
    "windows after the series": (lambda: data.next_value_task(12).windows([1000]), "1000"),
    "windows at a fraction": (lambda: data.next_value_task(12).windows([1.5]), "integer"),
}


MORE_DATA_REFUSALS = {
    "vocab names as strs": (lambda: data.PronounVocab(names=("Al", "Bo", "Cy")), "names[0]",
                            "'Al'"),
    "vocab fillers a str": (lambda: data.PronounVocab(fillers="xyz"), "fillers"),
    "vocab query an int": (lambda: data.PronounVocab(query=5), "query"),
    "vocab one class": (lambda: data.PronounVocab(classes=("a",), names=(("x",),)),
                        "at least 2 classes"),
    "encode with a str vocab": (lambda: data.encode(["Julia"], vocab="x"), "PronounVocab"),
    "price_series of a list": (lambda: data.price_series(["airline"]), "['airline']"),
    "a 2-D series": (lambda: data.next_value_task(3, series=np.arange(1.0, 41).reshape(2, 20)),
                     "1-D", "(2, 20)"),
    "a complex series": (lambda: data.next_value_task(3, series=np.arange(1.0, 41) + 1j),
                         "complex128"),
    "a series of digit strs": (lambda: data.next_value_task(3, series=["1", "2"] * 20),
                               "real numbers"),
    "a series too large to normalize": (lambda: data.next_value_task(
        3, series=[1e308, -1e308] * 20), "overflows"),
    "2-D window starts": (lambda: data.next_value_task(12).windows([[0, 1]]), "1-D", "(1, 2)"),
    "normalize words": (lambda: data.next_value_task(12).normalize("a"), "normalize"),
    "denormalize None": (lambda: data.next_value_task(12).denormalize(None), "denormalize"),
    "log of a negative": (lambda: data.next_value_task(12, log=True).normalize([-1.0]),
                          "positive", "-1.0"),
}


@pytest.mark.parametrize("call, phrases", [
    pytest.param(row[0], row[1:], id=name)
    for name, row in {**DATA_REFUSALS, **MORE_DATA_REFUSALS}.items()])
def test_data_loader_arguments_are_checked(call, phrases):
    refuses(SettingError, call, *phrases)


DATA_VALUES = {
    "numpy integers": (lambda: data.pronoun_task(np.int64(4), np.int64(2)).xs.shape, (3, 4, 43)),
    "a silent talk": (lambda: data.talks_task(2, 20, amplitude=0.0).xs.shape, (20, 2, 8)),
    "the last window": (lambda: data.next_value_task(12).windows([131])[1].shape, (12, 1, 1)),
}


@pytest.mark.parametrize("call, expected", cases(DATA_VALUES))
def test_data_loader_calls_that_work(call, expected):
    assert call() == expected


@pytest.mark.parametrize("call, phrases", [
    pytest.param(lambda: data.pronoun_task(4, 3).sentence(100), ("sentence", "100"), id="100"),
    pytest.param(lambda: data.pronoun_task(4, 3).words(1.0), ("words", "1.0"), id="1.0"),
    pytest.param(lambda: data.talks_task(4, 20).describe(-5), ("describe", "-5"), id="-5")])
def test_samples_of_a_batch_are_indexed_in_range(call, phrases):
    refuses(TensorIndexError, call, *phrases)


def test_generators_and_seed_sequences_seed_the_tasks_and_one_start_is_one_window():
    generator = np.random.default_rng(0)
    first, second = data.pronoun_task(4, 2, seed=generator), data.pronoun_task(4, 2, seed=generator)
    assert first.xs.shape == (3, 4, 43) and not np.array_equal(first.tokens, second.tokens)
    again = data.pronoun_task(4, 2, seed=np.random.default_rng(0))
    np.testing.assert_array_equal(again.tokens, first.tokens)
    assert data.pronoun_task(4, 2, seed=np.random.SeedSequence(0)).xs.shape == (3, 4, 43)
    assert data.talks_task(4, 20, seed=np.random.default_rng(0)).xs.shape == (20, 4, 8)
    task = data.next_value_task(12)
    np.testing.assert_array_equal(task.windows(np.int64(5))[0], task.windows([5])[0])
