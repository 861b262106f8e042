"""The synthetic talks: shapes, seeds, and that the label lives only in sparse keywords."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.data import keyword_patterns, talks_task
from tinygrad_rnn.errors import SettingError


def rebuild_without_noise(talks):
    """Frames written out from the bookkeeping alone: each keyword pattern at its onset."""
    n_steps, n_talks, n_features = talks.xs.shape
    frames = np.zeros((n_steps, n_talks, n_features))
    length = talks.keywords.shape[2]
    for b in range(n_talks):
        for onset, c, k in zip(talks.onsets[b], talks.keyword_class[b], talks.keyword_index[b]):
            frames[onset:onset + length, b] += talks.keywords[c, k]
    return frames


def exact_keyword_counts(xs, keywords):
    """(B, 2) how many windows of a noise-free talk equal some keyword of each class, from xs
    alone."""
    length = keywords.shape[2]
    counts = np.zeros((xs.shape[1], 2), dtype=int)
    for onset in range(xs.shape[0] - length + 1):
        window = xs[onset:onset + length]                         # (L, B, N)
        for c in range(2):
            for pattern in keywords[c]:
                counts[:, c] += np.all(window == pattern[:, None, :], axis=(0, 2))
    return counts


def matched_filter_class(xs, keywords):
    """(B,) the class whose best-matching keyword correlates most with some window of xs."""
    length = keywords.shape[2]
    best = np.full((xs.shape[1], 2), -np.inf)
    for onset in range(xs.shape[0] - length + 1):
        window = xs[onset:onset + length]
        scores = np.einsum("lbn,ckln->bck", window, keywords).max(axis=2)
        best = np.maximum(best, scores)
    return best.argmax(axis=1)


def test_shapes_dtypes_and_sparsity():
    talks = talks_task(32, length=80, n_features=8, seed=0)
    assert talks.xs.shape == (80, 32, 8) and talks.xs.dtype == np.float64
    assert talks.labels.shape == (32,) and talks.labels.dtype == np.int64
    assert talks.onsets.shape == (32, 2) and talks.keywords.shape == (2, 3, 4, 8)
    # Two keywords of four frames each: exactly 8 of the 80 frames carry evidence.
    np.testing.assert_array_equal(talks.evidence_mask.sum(axis=0), 8)


def test_same_seed_same_talks_and_keywords_shared_across_seeds():
    a, b, c = (talks_task(20, 50, seed=s) for s in (4, 4, 5))
    np.testing.assert_array_equal(a.xs, b.xs)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.xs, c.xs)
    np.testing.assert_array_equal(a.keywords, c.keywords)   # train and test share keywords
    other = talks_task(20, 50, seed=4, keyword_seed=7)
    assert not np.array_equal(a.keywords, other.keywords)
    again = talks_task(20, 50, seed=5, keyword_seed=np.random.SeedSequence(7))
    np.testing.assert_array_equal(again.keywords, other.keywords)


@pytest.mark.parametrize("keyword_seed", [None, np.random.default_rng(7), np.random.PCG64(7)])
def test_a_keyword_seed_that_would_give_each_batch_other_keywords_is_refused(keyword_seed):
    """None drew the keywords from fresh entropy, ignoring tg.manual_seed, and a Generator
    advanced: either way a training batch and a test batch had different vocabularies."""
    with pytest.raises(SettingError, match="keyword_seed must be a fixed seed"):
        talks_task(20, 50, seed=4, keyword_seed=keyword_seed)


def test_noise_free_talk_is_exactly_its_keywords():
    talks = talks_task(40, length=60, seed=1, noise=0.0, n_occurrences=3, n_decoys=1)
    np.testing.assert_array_equal(talks.xs, rebuild_without_noise(talks))
    assert (talks.xs[~talks.evidence_mask] == 0).all()
    assert set(np.unique(talks.xs[talks.evidence_mask])) == {-1.0, 1.0}   # no overlaps


@pytest.mark.parametrize("n_occurrences, n_decoys", [(2, 0), (3, 1), (3, 2)])
def test_label_is_the_majority_class_of_keywords_found_in_the_frames(n_occurrences, n_decoys):
    talks = talks_task(60, length=90, seed=2, noise=0.0,
                       n_occurrences=n_occurrences, n_decoys=n_decoys)
    counts = exact_keyword_counts(talks.xs, talks.keywords)
    np.testing.assert_array_equal(counts[np.arange(60), talks.labels], n_occurrences)
    np.testing.assert_array_equal(counts[np.arange(60), 1 - talks.labels], n_decoys)
    np.testing.assert_array_equal(counts.argmax(axis=1), talks.labels)


def test_matched_filter_over_the_whole_talk_recovers_every_label_through_noise():
    talks = talks_task(200, length=60, seed=3)
    np.testing.assert_array_equal(matched_filter_class(talks.xs, talks.keywords), talks.labels)


def test_quiet_tail_is_pure_background():
    talks = talks_task(100, length=64, seed=6)
    assert talks.quiet_tail == 16
    assert not talks.evidence_mask[-16:].any()
    assert (talks.onsets + talks.keywords.shape[2] <= 64 - 16).all()
    # With silent keywords the talk is only its background: the tail is the same frames.
    silent = talks_task(100, length=64, seed=6, amplitude=0.0)
    np.testing.assert_array_equal(talks.xs[-16:], silent.xs[-16:])


def nearest_mean_accuracy(train_features, train_labels, test_features, test_labels):
    means = np.stack([train_features[train_labels == c].mean(axis=0) for c in range(2)])
    distances = ((test_features[:, None, :] - means[None]) ** 2).sum(axis=2)
    return float(np.mean(distances.argmin(axis=1) == test_labels))


def test_last_frames_classifier_is_at_chance_but_whole_talk_is_not():
    train, test = talks_task(3000, 40, seed=0), talks_task(3000, 40, seed=1)
    last = nearest_mean_accuracy(train.xs[-1], train.labels, test.xs[-1], test.labels)
    tail = nearest_mean_accuracy(train.xs[-10:].mean(axis=0), train.labels,
                                 test.xs[-10:].mean(axis=0), test.labels)
    assert abs(last - 0.5) < 0.04 and abs(tail - 0.5) < 0.04   # chance std here is about 0.009
    # The same classifier on the average of all frames, which needs the whole talk, does learn.
    whole = nearest_mean_accuracy(train.xs.mean(axis=0), train.labels,
                                  test.xs.mean(axis=0), test.labels)
    assert whole > 0.75


def test_describe_names_the_label_and_keywords():
    talks = talks_task(3, length=40, seed=0)
    line = talks.describe(0)
    assert line.startswith(talks.class_names[talks.labels[0]] + " talk of 40 frames")
    assert line.count("@") == 2


def test_keywords_differ_between_classes():
    keywords = keyword_patterns(n_features=8, n_keywords=3, keyword_length=4)
    flat = keywords.reshape(6, -1)
    assert len(np.unique(flat, axis=0)) == 6


@pytest.mark.parametrize("kwargs, message", [
    (dict(length=9), "do not fit"),
    (dict(length=60, n_occurrences=2, n_decoys=2), "strict majority"),
])
def test_impossible_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        talks_task(4, **kwargs)


def test_seed_none_follows_manual_seed():
    """seed=None drew fresh entropy, so tg.manual_seed did not make a script repeat."""
    from tinygrad_rnn.data import pronoun_task
    runs = []
    for _ in range(2):
        tg.manual_seed(5)
        runs.append((pronoun_task(4, 3, seed=None).xs, talks_task(3, 20, seed=None).xs))
    for first, second in zip(*runs):
        np.testing.assert_array_equal(first, second)
    tg.manual_seed(6)                                  # and another seed gives other data
    assert not np.array_equal(pronoun_task(4, 3, seed=None).xs, runs[0][0])
    assert not np.array_equal(talks_task(3, 20, seed=None).xs, runs[0][1])
