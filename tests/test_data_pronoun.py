"""The pronoun task: shapes, seeds, padding, and where the information about the label sits."""
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_rnn.data import (
    DEFAULT_VOCAB,
    LECTURE_SENTENCE,
    PAD,
    PronounVocab,
    encode,
    pronoun_task,
    pronoun_task_mixed,
)

VOCAB = DEFAULT_VOCAB
QUERY = VOCAB.index("for")


def mutual_information(a, b):
    """Plug-in mutual information in bits between two sequences of hashable values, by counting."""
    n = len(a)
    joint, pa, pb = Counter(zip(a, b)), Counter(a), Counter(b)
    return sum(c / n * np.log2(c * n / (pa[x] * pb[y])) for (x, y), c in joint.items())


def window_keys(tokens, w):
    """The last w tokens of each sentence as a hashable key: what a windowed MLP sees."""
    return [tuple(col) for col in tokens[-w:].T]


def naive_bayes_accuracy(train_window, train_labels, test_window, test_labels, n_classes=3):
    """Accuracy of a per-position counting classifier (naive Bayes with add-one smoothing).

    Like a windowed MLP on one-hot words, it scores each class by a sum over window positions,
    so it can use any single word that carries information about the label.
    """
    n_words = VOCAB.size
    log_p = np.zeros((n_classes,))
    for c in range(n_classes):
        rows = train_window[:, train_labels == c]
        log_p[c] = np.log(rows.shape[1] / train_window.shape[1])
    scores = np.tile(log_p[:, None], (1, test_window.shape[1]))
    for position in range(train_window.shape[0]):
        counts = np.ones((n_classes, n_words))
        np.add.at(counts, (train_labels, train_window[position]), 1)
        log_word = np.log(counts / counts.sum(axis=1, keepdims=True))
        scores += log_word[:, test_window[position]]
    return float(np.mean(scores.argmax(axis=0) == test_labels))


def leak_class_into_last_filler(batch):
    """Negative control: a broken generator whose last distractor depends on the label."""
    tokens = batch.tokens.copy()
    tokens[-2] = np.array([VOCAB.index(w) for w in ("has", "been", "to")])[batch.labels]
    return tokens


def test_shapes_and_one_hot():
    batch = pronoun_task(50, distance=7, seed=3)
    assert batch.xs.shape == (8, 50, VOCAB.size) and batch.xs.dtype == np.float64
    assert batch.labels.shape == (50,) and batch.labels.dtype == np.int64
    assert batch.mask.all() and (batch.lengths == 8).all() and (batch.last_step == 7).all()
    np.testing.assert_array_equal(batch.xs.sum(axis=2), 1.0)
    np.testing.assert_array_equal(batch.xs.argmax(axis=2), batch.tokens)


def test_same_seed_same_batch_other_seed_other_batch():
    a, b, c = (pronoun_task(40, 5, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.xs, b.xs)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.tokens, c.tokens)


def test_fixed_distance_is_mixed_with_one_distance():
    fixed, mixed = pronoun_task(30, 4, seed=9), pronoun_task_mixed(30, [4], seed=9)
    np.testing.assert_array_equal(fixed.xs, mixed.xs)
    np.testing.assert_array_equal(fixed.labels, mixed.labels)


def test_sentence_layout_name_fillers_query():
    batch = pronoun_task(200, distance=6, seed=0)
    name_ids, _ = VOCAB.name_ids()
    assert np.isin(batch.tokens[0], name_ids).all()
    assert np.isin(batch.tokens[1:6], VOCAB.filler_ids()).all()
    assert (batch.tokens[6] == QUERY).all()


def test_label_is_the_class_of_the_first_word():
    batch = pronoun_task(600, distance=5, seed=4)
    labels_of_first_word = defaultdict(set)
    for first, label in zip(batch.tokens[0], batch.labels):
        labels_of_first_word[VOCAB.words[first]].add(batch.class_names[label])
    assert all(len(labels) == 1 for labels in labels_of_first_word.values())
    # Hand-written oracle: the pronoun each name takes in English.
    expected = {"Julia": "her", "Mei": "her", "Theodore": "his", "Kenji": "his", "Team": "their"}
    for name, pronoun in expected.items():
        assert labels_of_first_word[name] == {pronoun}
    h_label = -sum(p * np.log2(p) for p in np.bincount(batch.labels) / len(batch))
    assert mutual_information(list(batch.tokens[0]), list(batch.labels)) == pytest.approx(h_label)


def test_final_word_carries_no_information():
    # The lecture's MLP fed only x[T]: the final word is "for" in every sentence.
    batch = pronoun_task_mixed(300, [1, 4, 9], seed=5)
    assert (batch.tokens[batch.last_step, np.arange(len(batch))] == QUERY).all()


@pytest.mark.parametrize("w", [1, 2, 3])
def test_last_w_words_independent_of_label_when_w_le_distance(w):
    distance, n = 3, 6000
    batch = pronoun_task(n, distance, seed=0)
    keys, labels = window_keys(batch.tokens, w), list(batch.labels)
    # Plug-in MI of independent variables is biased upward by about (k_a-1)(k_b-1) / (2 n ln 2).
    bias = (len(set(keys)) - 1) * 2 / (2 * n * np.log(2))
    assert mutual_information(keys, labels) <= 2 * bias
    leaky_keys = window_keys(leak_class_into_last_filler(batch), w)
    if w >= 2:   # the control leaks into step T - 2, which a window of 2 or more sees
        assert mutual_information(leaky_keys, labels) > 0.9 * np.log2(3)


@pytest.mark.parametrize("w", [1, 2, 3, 4])
def test_windowed_classifier_sees_the_name_only_if_w_exceeds_distance(w):
    distance = 3
    train, test = pronoun_task(6000, distance, seed=0), pronoun_task(6000, distance, seed=1)
    accuracy = naive_bayes_accuracy(train.tokens[-w:], train.labels, test.tokens[-w:], test.labels)
    if w <= distance:
        assert abs(accuracy - 1 / 3) < 0.03
    else:
        assert accuracy == 1.0
    # The same classifier does find a leak when there is one, so "chance" above means something.
    leaky_train = leak_class_into_last_filler(train)[-w:]
    leaky_test = leak_class_into_last_filler(test)[-w:]
    leaky = naive_bayes_accuracy(leaky_train, train.labels, leaky_test, test.labels)
    assert leaky == 1.0 if w >= 2 else abs(leaky - 1 / 3) < 0.03


def test_window_beyond_distance_determines_label_exactly():
    batch = pronoun_task(3000, distance=3, seed=2)
    keys, labels = window_keys(batch.tokens, 4), list(batch.labels)
    labels_per_key = defaultdict(set)
    for key, label in zip(keys, labels):
        labels_per_key[key].add(label)
    assert all(len(found) == 1 for found in labels_per_key.values())


def test_mixed_lengths_mask_padding_and_targets():
    batch = pronoun_task_mixed(500, [2, 5, 11], seed=7)
    n_steps, n = batch.tokens.shape
    assert n_steps == 12 and batch.xs.shape == (12, n, VOCAB.size)
    assert set(batch.distances.tolist()) == {2, 5, 11}
    np.testing.assert_array_equal(batch.mask, np.arange(12)[:, None] < batch.lengths[None, :])
    assert (batch.tokens[~batch.mask] == PAD).all()
    assert (batch.xs[~batch.mask] == 0).all()
    np.testing.assert_array_equal(batch.xs[batch.mask].sum(axis=1), 1.0)
    targets = batch.targets
    assert ((targets != PAD) == (np.arange(12)[:, None] == batch.lengths[None, :] - 1)).all()
    np.testing.assert_array_equal(targets[batch.lengths - 1, np.arange(n)], batch.labels)
    # Sentence lengths are drawn apart from the names: they say nothing about the label.
    bias = (3 - 1) * 2 / (2 * n * np.log(2))
    assert mutual_information(list(batch.lengths), list(batch.labels)) < 4 * bias


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=4), st.integers(1, 20),
       st.integers(0, 2**31))
def test_every_mixed_sentence_reads_name_fillers_query(distances, n, seed):
    batch = pronoun_task_mixed(n, distances, seed=seed)
    assert batch.tokens.shape == (max(distances) + 1, n)
    for b in range(n):
        words = batch.words(b)
        assert len(words) == batch.lengths[b] and batch.distances[b] in distances
        assert VOCAB.words.index(words[0]) in VOCAB.name_ids()[0]
        assert words[-1] == "for" and "for" not in words[:-1]
        assert batch.sentence(b).endswith("for -> " + batch.class_names[batch.labels[b]])


def test_lecture_sentence_encodes_at_distance_ten():
    xs = encode(LECTURE_SENTENCE)
    assert xs.shape == (11, 1, VOCAB.size)
    assert xs[0, 0].argmax() == VOCAB.index("Julia") and xs[10, 0].argmax() == QUERY


def test_vocab_rejects_a_word_in_two_roles():
    with pytest.raises(ValueError, match="repeated.*Julia"):
        PronounVocab(fillers=("has", "Julia"))


def test_bad_distances_are_rejected():
    with pytest.raises(ValueError, match="distances must be >= 1"):
        pronoun_task(5, distance=0)
