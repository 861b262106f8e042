"""The PyTorch user's shape spellings on a Tensor: view, unsqueeze, squeeze, flatten, permute
and t (a reshape or a transpose each), split and chunk (slices), flip (a slice with step -1),
expand and repeat (indexing, so the gradient sums over the copies). A mixin of Tensor, as
habits.PyTorchHabits is: its methods reach the engine through the tensor's own methods
(reshape, transpose, indexing); `one_dim` checks a dim argument for both."""
import numpy as np

from .arguments import shape_of
from .context import recording
from .errors import ShapeError, where_in_time


class ShapeSpellings:
    """torch's names and arguments for reshaping, transposing, slicing and tiling."""

    __slots__ = ()

    def view(self, *shape):
        """reshape (a view needs no contiguous storage here: every array can be reshaped)."""
        return self.reshape(*shape)

    def unsqueeze(self, dim):
        """A new axis of length 1 at position dim: (3, 4).unsqueeze(0) -> (1, 3, 4)."""
        dim = one_dim("unsqueeze", dim, self.ndim + 1, self.shape)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Axes of length 1 removed: all of them, or those in dim (an int or a tuple); an axis
        in dim whose length is not 1 is kept, as in PyTorch."""
        if dim is None:
            dims = [i for i, n in enumerate(self.shape) if n == 1]
        else:       # (a 0-d tensor takes dim 0 or -1, as in PyTorch, and stays 0-d)
            given = dim if isinstance(dim, (tuple, list)) else (dim,)
            dims = [one_dim("squeeze", d, max(self.ndim, 1), self.shape) for d in given]
        return self.reshape(tuple(n for i, n in enumerate(self.shape)
                                  if not (i in dims and n == 1)))

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes start_dim..end_dim (inclusive) merged into one: (2, 3, 4).flatten(1) -> (2, 12)."""
        if self.ndim == 0:
            return self.reshape(1)
        start = one_dim("flatten", start_dim, self.ndim, self.shape)
        end = one_dim("flatten", end_dim, self.ndim, self.shape)
        if start > end:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                             f"shape {self.shape}")
        merged = int(np.prod(self.shape[start:end + 1], dtype=np.int64))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def permute(self, *dims):
        """The axes in the order `dims` (ints, or one tuple or list), as torch's permute."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = dims[0]
        if len(dims) != self.ndim:          # (transpose() of no axes would reverse them all)
            raise ShapeError(f"permute: axes {tuple(dims)} are not a permutation of the "
                             f"{self.ndim} axes of shape {self.shape}")
        return self.transpose(tuple(dims))

    def t(self):
        """The transpose of a matrix; a tensor of 0 or 1 axes as it is (as torch's t())."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor of at most 2 axes, got shape {self.shape} "
                             f"(use transpose or permute)")
        return self.transpose()

    def split(self, split_size_or_sections, dim=0):
        """Pieces along dim, as torch's split: of split_size each (the last may be shorter), or
        of the lengths in a list, which must add up to the length along dim."""
        dim = one_dim("split", dim, self.ndim, self.shape)
        length = self.shape[dim]
        sizes = split_size_or_sections
        if isinstance(sizes, (list, tuple)):
            if not all(_is_count(n) for n in sizes) or sum(sizes) != length:
                raise ShapeError(f"split: the lengths {list(sizes)} must be ints >= 0 adding "
                                 f"up to {length}, the length of dim {dim} of shape {self.shape}")
        elif _is_count(sizes) and sizes > 0:
            sizes = [min(sizes, length - start) for start in range(0, length, sizes)] or [0]
        else:
            raise ShapeError(f"split: split_size must be an int > 0 or a list of lengths, got "
                             f"{sizes!r}")
        ends = np.cumsum([0, *sizes])
        index = [slice(None)] * self.ndim
        pieces = []
        for start, end in zip(ends[:-1], ends[1:]):
            index[dim] = slice(int(start), int(end))
            pieces.append(self[tuple(index)])
        return tuple(pieces)

    def chunk(self, chunks, dim=0):
        """At most `chunks` pieces along dim, as torch's chunk: each of ceil(length / chunks)
        elements, the last shorter (so fewer pieces when they run out)."""
        if not _is_count(chunks) or chunks < 1:
            raise ShapeError(f"chunk: chunks must be an int >= 1, got {chunks!r}")
        dim = one_dim("chunk", dim, self.ndim, self.shape)
        if self.shape[dim] == 0:                  # (torch: `chunks` empty pieces)
            return self.split([0] * chunks, dim)
        return self.split(-(-self.shape[dim] // chunks), dim)

    def flip(self, dims):
        """The order reversed along dims (an int or a sequence of ints), as torch's flip:
        x.flip(0) runs a (T, B, N) sequence backwards in time. A slice with step -1."""
        dims = list(dims) if isinstance(dims, (tuple, list)) else [dims]
        axes = [one_dim("flip", d, self.ndim, self.shape) for d in dims]
        if len(set(axes)) != len(axes):
            raise ShapeError(f"flip: dims {dims} name an axis twice (for shape {self.shape})")
        return self[tuple(slice(None, None, -1) if a in axes else slice(None)
                          for a in range(self.ndim))]

    def expand(self, *sizes):
        """This tensor broadcast to `sizes` (ints or one tuple), as torch's expand: an axis of
        length 1 repeats to any length, -1 keeps an axis as it is, and new axes go in front;
        the gradient sums over the copies. Indexing underneath (a copy, not a view)."""
        sizes = shape_of(sizes, "expand")
        lead = len(sizes) - self.ndim
        if lead < 0 or any(n == -1 for n in sizes[:lead]) or any(
                n not in (-1, have) and have != 1 for n, have in zip(sizes[lead:], self.shape)):
            raise ShapeError(f"expand: shape {self.shape} cannot be expanded to {sizes} (only "
                             f"axes of length 1 grow, -1 keeps one, new axes go in front)")
        x = self.reshape((1,) * lead + self.shape)
        for axis, (n, have) in enumerate(zip(sizes, x.shape)):
            if n not in (-1, have):                        # a length 1 grows to n
                x = x[(slice(None),) * axis + (np.zeros(n, dtype=np.intp),)]
        return x

    def repeat(self, *repeats):
        """This tensor tiled `repeats` times along each axis (ints or one tuple, as many as the
        axes or more: new axes go in front), as torch's repeat (numpy's tile); the gradient
        sums over the copies. Indexing underneath."""
        repeats = shape_of(repeats, "repeat")
        lead = len(repeats) - self.ndim
        if lead < 0 or any(r < 0 for r in repeats):
            raise ShapeError(f"repeat: {repeats} must give each of the {self.ndim} axes of "
                             f"shape {self.shape} a count >= 0 (more counts add axes in front)")
        x = self.reshape((1,) * lead + self.shape)
        for axis, (r, n) in enumerate(zip(repeats, x.shape)):
            if r != 1:
                x = x[(slice(None),) * axis + (np.tile(np.arange(n), r),)]
        return x


def _is_count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def one_dim(op, dim, ndim, shape):
    """dim as a non-negative int below ndim, or a ShapeError naming the op and the shape."""
    if ndim == 0:                  # (the range below would read "[0, -1]")
        raise ShapeError(f"{op}: a 0-d tensor has no dims, got dim={dim!r}"
                         f"{where_in_time(recording.meta)}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -ndim <= dim < ndim:
        raise ShapeError(f"{op}: dim must be an int in [{-ndim}, {ndim - 1}] for shape {shape}, "
                         f"got {dim!r}{where_in_time(recording.meta)}")
    return int(dim) % ndim
