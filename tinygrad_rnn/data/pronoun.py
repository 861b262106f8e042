"""The lecture's "Julia ... for her" task: predict a pronoun fixed by a name seen d words earlier.

Generative process for one sentence at distance d >= 1 (steps are 0-based):

    step 0          a name: draw the pronoun class c uniformly, then a name of class c uniformly
    steps 1..d-1    d-1 distractor words, each drawn uniformly and independently from the
                    fillers, from their own random stream: their distribution is the same
                    whatever the class, so they tell nothing about the answer
    step d          the query word "for"; the label c ("her" / "his" / "their") is due here

So a sentence has T = d + 1 steps and its label belongs to step T - 1 = d. The name is exactly d
steps before the query. A model that sees only the last w words (a windowed MLP, w = 1 being the
lecture's MLP fed x[T]) sees the name iff w > d; for w <= d it sees fillers and "for", which are
independent of the label, so it is at chance (1/3 with the default vocabulary).

`pronoun_task_mixed` draws each sentence's distance from a list, pads at the end to
T_max = max(distances) + 1, and returns `lengths` (B,) and `mask` (T_max, B): sentence b has
real steps 0..lengths[b]-1 and its label belongs to step lengths[b] - 1. Padded steps have an
all-zero input vector and token -1.

    >>> batch = pronoun_task(4, distance=10, seed=0)
    >>> batch.xs.shape, batch.labels.shape      # (T, B, V), (B,)
    ((11, 4, 43), (4,))
    >>> batch.sentence(0)
    'Committee been invited at award invited annual receive Prize in for -> their'
"""
from dataclasses import dataclass

import numpy as np

from .. import settings
from ..creation import default_generator
from ..errors import SettingError, TensorIndexError

PAD = -1

# Streams are split so that the distractors cannot depend on the names, even by accident.
_NAME_STREAM, _FILLER_STREAM, _LENGTH_STREAM = range(3)


@dataclass(frozen=True)
class PronounVocab:
    """Words of the task: names grouped by pronoun class, distractor fillers and the query word.

    `words` orders the vocabulary as names (class by class), fillers, query; a word's one-hot
    index is its position there. "Alexander" is a filler (from the lecture's "Alexander von
    Humboldt Prize"), not a name: only the word at step 0 sets the pronoun.
    """

    classes: tuple = ("her", "his", "their")
    names: tuple = (
        ("Julia", "Maria", "Emma", "Sofia", "Aisha", "Mei"),
        ("Theodore", "David", "Omar", "Lucas", "Ivan", "Kenji"),
        ("Team", "Committee", "Lab", "Family", "Orchestra", "Council"),
    )
    fillers: tuple = (
        "has", "been", "nominated", "to", "receive", "Alexander", "von", "Humboldt",
        "Prize", "was", "recently", "invited", "present", "new", "research", "at",
        "the", "annual", "conference", "in", "Toronto", "and", "award", "paper",
    )
    query: str = "for"

    def __post_init__(self):
        _words_of("classes", self.classes)
        if not isinstance(self.names, (tuple, list)):
            raise SettingError(f"PronounVocab: names must be a tuple of name groups, one per "
                               f"class, got {self.names!r}")
        for c, group in enumerate(self.names):
            _words_of(f"names[{c}]", group)
        _words_of("fillers", self.fillers)
        if not isinstance(self.query, str) or not self.query:
            raise SettingError(f"PronounVocab: query must be a word (a str), got {self.query!r}")
        if len(self.classes) < 2:
            raise SettingError(f"PronounVocab: the task needs at least 2 classes, got "
                               f"{len(self.classes)}: {list(self.classes)}")
        if len(self.names) != len(self.classes):
            raise SettingError(f"PronounVocab: {len(self.classes)} classes but "
                             f"{len(self.names)} name groups")
        if any(len(group) == 0 for group in self.names) or len(self.fillers) == 0:
            raise SettingError("PronounVocab: every class needs a name and there must be fillers")
        words = self.words
        if len(set(words)) != len(words):
            repeated = sorted({w for w in words if words.count(w) > 1})
            raise SettingError(f"PronounVocab: words must be distinct, repeated: {repeated}")

    @property
    def words(self):
        return tuple(w for group in self.names for w in group) + tuple(self.fillers) + (self.query,)

    @property
    def size(self):
        return len(self.words)

    def index(self, word):
        return self.words.index(word)

    def name_ids(self):
        """(n_names,) token ids of the names and (n_names,) their class indices."""
        ids, classes = [], []
        for c, group in enumerate(self.names):
            ids += [self.index(w) for w in group]
            classes += [c] * len(group)
        return np.array(ids, dtype=np.int64), np.array(classes, dtype=np.int64)

    def filler_ids(self):
        return np.array([self.index(w) for w in self.fillers], dtype=np.int64)


def _words_of(what, words):
    """A tuple or list of words: a str here would be read letter by letter ('Al' -> 'A', 'l')."""
    if not isinstance(words, (tuple, list)) or not all(isinstance(w, str) and w for w in words):
        raise SettingError(f"PronounVocab: {what} must be a tuple (or list) of words, each a "
                           f"non-empty str, got {words!r}")


DEFAULT_VOCAB = PronounVocab()

LECTURE_SENTENCE = ("Julia", "has", "been", "nominated", "to", "receive",
                    "Alexander", "von", "Humboldt", "Prize", "for")


@dataclass
class PronounBatch:
    """A batch of sentences, time-major.

    xs:      (T, B, V) float64 one-hot words; all-zero rows at padded steps
    tokens:  (T, B) int64 word ids, PAD (-1) at padded steps
    labels:  (B,) int64 pronoun class, due at step lengths[b] - 1
    lengths: (B,) int64 real steps per sentence (= distance + 1)
    mask:    (T, B) bool, True at real steps
    vocab:   the PronounVocab used
    """

    xs: np.ndarray
    tokens: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray
    mask: np.ndarray
    vocab: PronounVocab

    def __len__(self):
        return self.labels.shape[0]

    @property
    def class_names(self):
        return self.vocab.classes

    @property
    def distances(self):
        """(B,) steps from the name (step 0) to the query word."""
        return self.lengths - 1

    @property
    def last_step(self):
        """(B,) 0-based step at which each label is due (the query word's step)."""
        return self.lengths - 1

    @property
    def targets(self):
        """(T, B) int64 per-step targets: the label at each sentence's last step, PAD elsewhere."""
        targets = np.full(self.tokens.shape, PAD, dtype=np.int64)
        targets[self.last_step, np.arange(len(self))] = self.labels
        return targets

    def words(self, b):
        """Sentence b as its list of words (padding dropped)."""
        b = _sample_index("words", b, len(self))
        return [self.vocab.words[i] for i in self.tokens[: self.lengths[b], b]]

    def sentence(self, b):
        """Sentence b as printable text with its answer: 'Julia has ... for -> her'."""
        b = _sample_index("sentence", b, len(self))
        return " ".join(self.words(b)) + " -> " + self.class_names[self.labels[b]]


def _sample_index(method, b, size):
    """b as an index into a batch of `size` samples (negative from the end, as a list's)."""
    if not settings.is_integer(b) or not -size <= b < size:
        raise TensorIndexError(f"{method}: sample {b!r} is not in a batch of {size} (an int in "
                               f"{-size}..{size - 1})")
    return int(b)


def encode(words, vocab=DEFAULT_VOCAB):
    """One-hot (T, 1, V) float64 input for one sentence given as words, e.g. LECTURE_SENTENCE."""
    if not isinstance(vocab, PronounVocab):
        raise SettingError(f"encode: vocab must be a PronounVocab, got {type(vocab).__name__}")
    if isinstance(words, str) or not isinstance(words, (list, tuple)):
        raise SettingError(f"encode: words must be a list of words, such as LECTURE_SENTENCE, "
                           f"got {words!r}")
    if not words:
        raise SettingError("encode: the sentence is empty; it needs at least one word")
    unknown = [w for w in words if w not in vocab.words]
    if unknown:
        raise SettingError(f"encode: {unknown} not in the vocabulary; its words are "
                           f"{list(vocab.words)}")
    ids = [vocab.index(w) for w in words]
    return np.eye(vocab.size)[ids][:, None, :]


def pronoun_task(n_samples, distance, seed=0, vocab=DEFAULT_VOCAB):
    """n_samples sentences whose name is `distance` steps before the query word.

    Returns a PronounBatch with xs (distance + 1, n_samples, V); every label is due at the last
    step T - 1 = distance. Same (n_samples, distance, seed, vocab) gives the same batch, and it
    equals pronoun_task_mixed(n_samples, [distance], seed, vocab).
    """
    return pronoun_task_mixed(n_samples, [distance], seed=seed, vocab=vocab)


def pronoun_task_mixed(n_samples, distances, seed=0, vocab=DEFAULT_VOCAB):
    """n_samples sentences, each with a distance drawn uniformly from `distances`.

    Returns a PronounBatch padded at the end to T_max = max(distances) + 1 steps; sentence b's
    label is due at step lengths[b] - 1 and mask[t, b] is t < lengths[b]. seed=None draws
    from the generator tg.manual_seed seeds, as models made with seed=None do.
    """
    n_samples = settings.positive_int("pronoun_task", "n_samples", n_samples)
    given = (np.asarray(distances, dtype=object).reshape(-1)
             if isinstance(distances, (list, tuple, np.ndarray)) else ())
    if len(given) == 0 or not all(settings.is_integer(d) and d >= 1 for d in given):
        raise SettingError(f"pronoun_task: distances must be >= 1 (whole numbers of steps), got "
                           f"{distances!r}")
    distances = given.astype(np.int64)
    seed = settings.seed_sequence("pronoun_task", default_generator() if seed is None else seed)
    if not isinstance(vocab, PronounVocab):
        raise SettingError(f"pronoun_task: vocab must be a PronounVocab, got "
                           f"{type(vocab).__name__}")
    streams = [np.random.default_rng(s) for s in seed.spawn(3)]

    name_ids, name_classes = vocab.name_ids()
    labels = streams[_NAME_STREAM].integers(len(vocab.classes), size=n_samples)
    names = np.empty(n_samples, dtype=np.int64)
    for c in range(len(vocab.classes)):
        of_class = name_ids[name_classes == c]
        chosen = labels == c
        names[chosen] = streams[_NAME_STREAM].choice(of_class, size=chosen.sum())

    if distances.size == 1:
        sample_distances = np.full(n_samples, distances[0])
    else:
        sample_distances = streams[_LENGTH_STREAM].choice(distances, size=n_samples)
    lengths = sample_distances + 1
    n_steps = int(distances.max()) + 1    # from the arguments, not the draw: shapes never vary

    fillers = vocab.filler_ids()
    tokens = fillers[streams[_FILLER_STREAM].integers(len(fillers), size=(n_steps, n_samples))]
    steps = np.arange(n_steps)[:, None]
    mask = steps < lengths[None, :]
    tokens[0] = names
    tokens[steps == sample_distances[None, :]] = vocab.index(vocab.query)
    tokens[~mask] = PAD

    xs = np.zeros((n_steps, n_samples, vocab.size))
    t_idx, b_idx = np.nonzero(mask)
    xs[t_idx, b_idx, tokens[t_idx, b_idx]] = 1.0
    return PronounBatch(xs=xs, tokens=tokens, labels=labels.astype(np.int64),
                        lengths=lengths.astype(np.int64), mask=mask, vocab=vocab)
