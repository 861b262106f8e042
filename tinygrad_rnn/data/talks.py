"""SYNTHETIC stand-in for the lecture's sport-or-science talk: one binary label per long sequence.

No audio is involved: a "talk" is a sequence of T frames of N features made as follows.

1. Keywords. Each class (0 = sport, 1 = science) owns K keywords; a keyword is a fixed pattern of
   L frames whose entries are +amplitude or -amplitude with random signs. The patterns come from
   `keyword_seed` alone, so every batch (any `seed`) shares the same vocabulary of keywords.
2. Label. The talk's class c is drawn uniformly.
3. Background. Every frame starts as i.i.d. Gaussian noise N(0, noise^2) from its own random
   stream, drawn before and independently of the label.
4. Keywords in the talk. n_occurrences keywords of class c and n_decoys (< n_occurrences)
   keywords of the other class, each chosen uniformly among its class's K, are added to the
   background at random non-overlapping onsets, in random order. The label is the class that
   supplies the majority of keywords (with n_decoys = 0, the only class that appears).
5. Quiet tail. No keyword touches the last `quiet_tail` frames (default T // 4): those frames
   are pure background, so a model that reads only the last frames is at chance and a model must
   carry what it heard earlier across the sequence.

Evidence is sparse: (n_occurrences + n_decoys) * L of the T frames carry a keyword.

    >>> talks = talks_task(16, length=60, seed=0)
    >>> talks.xs.shape, talks.labels.shape       # (T, B, N), (B,)
    ((60, 16, 8), (16,))
"""
from dataclasses import dataclass

import numpy as np

from .. import settings
from ..creation import default_generator
from ..errors import SettingError, TensorIndexError

CLASS_NAMES = ("sport", "science")

_LABEL_STREAM, _PLACEMENT_STREAM, _NOISE_STREAM = range(3)


def keyword_patterns(n_features=8, n_keywords=3, keyword_length=4, amplitude=1.0,
                     keyword_seed=2025):
    """(2, K, L, N) float64 keyword patterns: patterns[c, k] is class c's k-th keyword, the same
    for the same keyword_seed: a fixed seed (None or a Generator, which would give each batch
    other keywords, is a SettingError)."""
    owner = "keyword_patterns"
    n_features = settings.positive_int(owner, "n_features", n_features)
    n_keywords = settings.positive_int(owner, "n_keywords", n_keywords)
    keyword_length = settings.positive_int(owner, "keyword_length", keyword_length)
    amplitude = settings.non_negative_float(owner, "amplitude", amplitude)
    if keyword_seed is None or isinstance(keyword_seed, (np.random.Generator,
                                                         np.random.BitGenerator)):
        raise SettingError(f"{owner}: keyword_seed must be a fixed seed (an int >= 0 or a "
                           f"SeedSequence), got {keyword_seed!r}: the keywords are drawn anew "
                           f"for every batch, and only a fixed seed gives every batch the same "
                           f"ones")
    rng = settings.rng(owner, keyword_seed, "keyword_seed")
    signs = rng.choice([-1.0, 1.0], size=(2, n_keywords, keyword_length, n_features))
    flat = signs.reshape(2 * n_keywords, -1)
    if len(np.unique(flat, axis=0)) < len(flat):
        # Two equal keywords (possible only when L * N is tiny) would make the label ambiguous.
        raise SettingError(f"keyword_patterns: keyword_seed={keyword_seed} gives two identical "
                         f"keywords of {keyword_length}x{n_features} frames; change the seed")
    return amplitude * signs


@dataclass
class TalksBatch:
    """A batch of synthetic talks, time-major.

    xs:            (T, B, N) float64 frames
    labels:        (B,) int64, 0 = sport, 1 = science
    onsets:        (B, M) int64 first frame of each inserted keyword, M = n_occurrences + n_decoys
    keyword_class: (B, M) int64 class owning each inserted keyword
    keyword_index: (B, M) int64 which of that class's K keywords it is
    keywords:      (2, K, L, N) the keyword patterns
    quiet_tail:    number of final frames guaranteed free of keywords
    """

    xs: np.ndarray
    labels: np.ndarray
    onsets: np.ndarray
    keyword_class: np.ndarray
    keyword_index: np.ndarray
    keywords: np.ndarray
    quiet_tail: int
    class_names: tuple = CLASS_NAMES

    def __len__(self):
        return self.labels.shape[0]

    @property
    def evidence_mask(self):
        """(T, B) bool, True on frames covered by a keyword."""
        n_steps, n_talks = self.xs.shape[:2]
        mask = np.zeros((n_steps, n_talks), dtype=bool)
        for offset in range(self.keywords.shape[2]):
            mask[self.onsets + offset, np.arange(n_talks)[:, None]] = True
        return mask

    def describe(self, b):
        """One line for talk b: its label and where its keywords are."""
        if not settings.is_integer(b) or not -len(self) <= b < len(self):
            raise TensorIndexError(f"describe: talk {b!r} is not in a batch of {len(self)}")
        order = np.argsort(self.onsets[b])
        spots = ", ".join(
            f"{self.class_names[self.keyword_class[b, j]]}#{self.keyword_index[b, j]}"
            f"@{self.onsets[b, j]}" for j in order)
        return f"{self.class_names[self.labels[b]]} talk of {self.xs.shape[0]} frames: {spots}"


def talks_task(n_talks, length, n_features=8, seed=0, *, n_keywords=3, keyword_length=4,
               n_occurrences=2, n_decoys=0, noise=0.5, amplitude=1.0, quiet_tail=None,
               keyword_seed=2025):
    """n_talks synthetic talks of `length` frames; see the module docstring for the process.

    Returns a TalksBatch with xs (length, n_talks, n_features). The same arguments give the same
    batch; `seed` changes the talks, `keyword_seed` the keyword vocabulary. seed=None draws
    from the generator tg.manual_seed seeds, as models made with seed=None do.
    """
    owner = "talks_task"
    n_talks = settings.positive_int(owner, "n_talks", n_talks)
    length = settings.positive_int(owner, "length", length)
    n_occurrences = settings.positive_int(owner, "n_occurrences", n_occurrences)
    n_decoys = settings.non_negative_int(owner, "n_decoys", n_decoys)
    keyword_length = settings.positive_int(owner, "keyword_length", keyword_length)
    noise = settings.non_negative_float(owner, "noise", noise)
    seed = settings.seed_sequence(owner, default_generator() if seed is None else seed)
    if quiet_tail is None:
        quiet_tail = length // 4
    quiet_tail = settings.non_negative_int(owner, "quiet_tail", quiet_tail)
    if n_occurrences < 1 or not 0 <= n_decoys < n_occurrences:
        raise SettingError(f"talks_task: need n_occurrences >= 1 and 0 <= n_decoys < n_occurrences "
                         f"so the label is a strict majority, got {n_occurrences} and {n_decoys}")
    n_slots = n_occurrences + n_decoys
    free = length - quiet_tail - n_slots * keyword_length
    if free < 0:
        raise SettingError(f"talks_task: {n_slots} keywords of {keyword_length} frames and a quiet "
                         f"tail of {quiet_tail} frames do not fit in length={length}")
    streams = [np.random.default_rng(s) for s in seed.spawn(3)]
    keywords = keyword_patterns(n_features, n_keywords, keyword_length, amplitude, keyword_seed)

    labels = streams[_LABEL_STREAM].integers(2, size=n_talks)

    place = streams[_PLACEMENT_STREAM]
    # Sorted gaps plus the keywords before each slot give non-overlapping onsets in order.
    gaps = np.sort(place.integers(0, free + 1, size=(n_talks, n_slots)), axis=1)
    onsets = gaps + keyword_length * np.arange(n_slots)
    # A random permutation per talk decides which slots hold the decoys.
    rank = np.argsort(place.random((n_talks, n_slots)), axis=1)
    is_decoy = rank >= n_occurrences
    keyword_class = np.where(is_decoy, 1 - labels[:, None], labels[:, None])
    keyword_index = place.integers(n_keywords, size=(n_talks, n_slots))

    xs = noise * streams[_NOISE_STREAM].standard_normal((length, n_talks, n_features))
    talk = np.arange(n_talks)
    for j in range(n_slots):
        pattern = keywords[keyword_class[:, j], keyword_index[:, j]]    # (B, L, N)
        for offset in range(keyword_length):
            xs[onsets[:, j] + offset, talk] += pattern[:, offset]

    return TalksBatch(xs=xs, labels=labels.astype(np.int64), onsets=onsets.astype(np.int64),
                      keyword_class=keyword_class.astype(np.int64),
                      keyword_index=keyword_index.astype(np.int64), keywords=keywords,
                      quiet_tail=int(quiet_tail))
