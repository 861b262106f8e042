"""Embedding: a learned vector per token id, PyTorch's nn.Embedding.

    embed = nn.Embedding(43, 16, seed=0)     # W (43, 16)
    xs = embed(tokens)                       # tokens (T, B) ids -> xs (T, B, 16)

embed(tokens) is W[tokens], one getitem node; a token seen twice sends both of its gradients
to its row (repeated indices accumulate). It replaces one-hot inputs: W[k] is what
W1 @ one_hot(k) would pick out of a first layer, with a width of one's choosing.
"""
import numpy as np

from .. import settings
from ..arguments import whole_numbers
from ..errors import DTypeError, TensorIndexError
from ..tensor import Tensor
from .layers import as_rng
from .module import Module


class Embedding(Module):
    """num_embeddings vectors of embedding_dim, W drawn from N(0, 1) as in PyTorch."""

    def __init__(self, num_embeddings, embedding_dim, seed=None):
        super().__init__()
        num_embeddings = settings.positive_int("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = settings.positive_int("Embedding", "embedding_dim", embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        rng = as_rng(seed, "Embedding")
        self.W = Tensor(rng.standard_normal((num_embeddings, embedding_dim)), requires_grad=True,
                        name="W")

    def forward(self, tokens):
        """tokens: integer ids of any shape (array, list or Tensor) -> (*shape, embedding_dim)."""
        return self.W[self.ids(tokens)]

    def ids(self, tokens):
        """tokens as an int64 array, or an error naming what is wrong with them."""
        try:
            values = np.asarray(tokens.data if isinstance(tokens, Tensor) else tokens)
        except ValueError:           # ragged lists: rows of different lengths
            raise DTypeError("Embedding: tokens must be ids in a rectangular array (rows of one "
                             "length; pad short sequences and mask the padding)") from None
        if not whole_numbers(values):
            raise DTypeError(f"Embedding: tokens must be integer ids, got dtype {values.dtype}")
        # the range is checked before any cast: 1e20 cast to int64 would wrap to a negative id
        if values.size and (values.min() < 0 or values.max() >= self.num_embeddings):
            raise TensorIndexError(f"Embedding: token ids must lie in [0, {self.num_embeddings})"
                                   f", got values from {values.min()} to {values.max()}")
        return values.astype(np.int64, copy=False)     # whole floats: exact, every id < N
