"""Module: a container of named parameters and submodules, as in PyTorch.

Assigning a Tensor that requires grad to an attribute registers it as a parameter under that
name; assigning a Module registers a submodule. `named_parameters()` walks both, in the order
they were assigned, with dotted names ("layer0.W1" in a Stacked, "0.W" in a Sequential).

Saving writes a .npz atomically (files.py): a crash or a kill mid-save leaves the old file
intact and no temporary behind. Loading is all or nothing: every name and shape is checked,
and every value converted to its parameter's dtype (refused if it does not fit: 1e300 into
float32), and a file's headers before its data (npz.py), before any parameter changes; a
StateDictError says what does not fit.
"""
from collections.abc import Mapping

import numpy as np

from .. import settings
from ..errors import DTypeError, SettingError, StateDictError
from ..files import atomic_writer
from ..npz import read_npz, write_npz
from ..tensor import Tensor


class Module:
    """Base class of every model. Subclasses assign parameters and submodules in __init__
    and define forward(); calling the module calls forward()."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)     # train() / eval(); Dropout reads it

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        parameter = isinstance(value, Tensor) and value.requires_grad and value.is_leaf
        if (parameter or isinstance(value, Module)) and "." in name:
            raise SettingError(f"{type(self).__name__}: the name {name!r} holds a '.', which "
                               f"state_dict uses between a module's name and its parameter's")
        if name in self._parameters and value is not None and not parameter:
            raise SettingError(f"{type(self).__name__}.{name} is a parameter; assign a leaf "
                               f"Tensor that requires grad (or None to drop it), got "
                               f"{_described(value)}: it would be dropped from parameters() "
                               f"and state_dict() without a word")
        if not parameter:
            self._parameters.pop(name, None)
        if not isinstance(value, Module):
            self._modules.pop(name, None)
        if parameter:
            if value.name is None:
                value.name = name
            self._parameters[name] = value          # a name already there keeps its place
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # --- parameters ---
    def named_parameters(self, prefix=""):
        """(name, Tensor) pairs of this module's parameters and its submodules', each once."""
        seen = set()
        for name, param in self._named_parameters(prefix):
            if id(param) not in seen:
                seen.add(id(param))
                yield name, param

    def _named_parameters(self, prefix):
        for name, param in self._parameters.items():
            yield prefix + name, param
        for name, module in self._modules.items():
            yield from module._named_parameters(f"{prefix}{name}.")

    def parameters(self):
        return [param for _, param in self.named_parameters()]

    # --- submodules ---
    def named_children(self):
        """(name, module) pairs of the direct submodules, in the order they were assigned,
        each once (a module assigned under two names comes under the first), as torch's: so
        apply(fn) does not run fn twice on it as a child of the same module."""
        seen, children = set(), []
        for name, module in self._modules.items():
            if id(module) not in seen:
                seen.add(id(module))
                children.append((name, module))
        return iter(children)

    def children(self):
        return (module for _, module in self.named_children())

    def named_modules(self, prefix=""):
        """(dotted name, module) pairs of this module ("") and every submodule below it, each
        once, parents before children, as torch's."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack += reversed([(f"{name}.{child}" if name else child, sub)
                               for child, sub in module._modules.items()])

    def modules(self):
        return (module for _, module in self.named_modules())

    def apply(self, fn):
        """fn(module) for each child's modules (child.apply(fn)), then for this module, as
        torch's: model.apply(init) initializes every layer; returns self."""
        settings.function(f"{type(self).__name__}.apply", "fn", fn, call="fn(module)",
                          arguments=1)
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def zero_grad(self):
        for param in self.parameters():
            param.grad = None

    def train(self, mode=True):
        """Set the training flag of this module and every submodule (Dropout drops only in
        training); returns self, as in PyTorch. `mode` is True or False (numpy's too); any
        other value is a SettingError, as PyTorch's ValueError: train("no") must not mean
        training."""
        mode = settings.flag(f"{type(self).__name__}.train", "mode", mode)
        object.__setattr__(self, "training", mode)
        for module in self._modules.values():
            module.train(mode)
        return self

    def eval(self):
        """train(False): evaluation mode (Dropout passes its input through)."""
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter to `dtype` in place (a floating dtype: np.float32,
        np.float64, "float32", ...); returns self. Their gradients are dropped (set to None;
        torch's converts them), so convert before backward(), not between it and step()."""
        dtype = floating_dtype(f"{type(self).__name__}.to", dtype)
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            param.grad = None
        return self

    def float(self):
        """to(np.float32), as torch's float()."""
        return self.to(np.float32)

    def double(self):
        """to(np.float64), as torch's double()."""
        return self.to(np.float64)

    # --- state ---
    def state_dict(self):
        """{name: a copy of the parameter's array}."""
        return {name: param._data.copy() for name, param in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy arrays into the parameters in place, all or nothing.

        `state` maps every parameter's name to an array (or a Tensor, or nested lists) of the
        parameter's exact shape holding real numbers: floating or integer values, converted
        to the parameter's dtype. NaN and Inf are loaded as they are: they are data (the
        weights of a diverged model can be saved and looked at). Arrays of bools, complex
        numbers, strings or objects are refused, and so is a value that overflows the
        parameter's dtype (1e300 into float32). Every name and value is checked before any
        parameter changes: on a problem nothing changes and StateDictError lists them all.
        The values are copied before any is assigned, so a state made of the model's own
        arrays loads as it reads (swapping two parameters swaps them; PyTorch's copy_ one by
        one would give both the second's value)."""
        converted = self._checked_state(state, f"{type(self).__name__}.load_state_dict")
        for name, param in self.named_parameters():
            param.data[...] = converted[name]

    def save(self, path):
        """Write the parameters to `path` (.npz) atomically (files.py): a crash or a kill
        mid-save leaves the old file intact and no temporary behind. A symlink is followed;
        a directory, FIFO or device at `path` is refused (FileError). The file is what
        numpy.savez writes, one member per parameter, under any parameter name (even "file"
        or "allow_pickle", which numpy.savez would take for its own arguments)."""
        state = self.state_dict()
        with atomic_writer(path) as file:
            write_npz(file, state)

    def load(self, path):
        """Read parameters saved by save(), all or nothing (see load_state_dict). A path that
        is missing, a directory or unreadable is a FileError; a file that is not a .npz of
        named arrays, is corrupt or truncated, or does not fit the model is a StateDictError.
        Headers are checked against the model before any data is read."""
        who = f"{type(self).__name__}.load"
        params = dict(self.named_parameters())
        arrays = read_npz(path, who, lambda described: state_problems(params, described))
        converted = self._checked_state(arrays, f"{who}: {path}")
        for name, param in params.items():
            param.data[...] = converted[name]
        return self

    def _checked_state(self, state, who):
        """{name: array converted to the parameter's dtype}, or a StateDictError."""
        if not isinstance(state, Mapping):
            raise StateDictError(f"{who}: the state must be a mapping of parameter names to "
                                 f"arrays (as state_dict() returns), got {type(state).__name__}")
        params = dict(self.named_parameters())
        arrays, problems = {}, []
        for name, value in state.items():
            if name in params:
                try:
                    arrays[name] = np.asarray(value.data if isinstance(value, Tensor) else value)
                except (TypeError, ValueError, RuntimeError) as exc:
                    problems.append(f"{name}: not an array of numbers ({exc})")
        described = {name: (array.shape, array.dtype) for name, array in arrays.items()}
        described.update({name: None for name in state if name not in arrays})
        problems += state_problems(params, described)
        if not problems:
            converted = {}
            for name, param in params.items():
                converted[name], problem = _converted(arrays[name], param)
                if problem:
                    problems.append(f"{name}: {problem}")
        if problems:
            raise StateDictError(f"{who}: the saved state does not fit this "
                                 f"{type(self).__name__}; " + "; ".join(problems))
        return converted

    def __repr__(self):
        shapes = ", ".join(f"{name}{tuple(p.shape)}" for name, p in self.named_parameters())
        return f"{type(self).__name__}({shapes})"


def floating_dtype(who, dtype):
    """numpy's dtype for `dtype` if it is a floating one, else a DTypeError naming `who`.
    None is refused: numpy reads it as float64, which is not what to(None) would mean."""
    if dtype is None:
        raise DTypeError(f"{who}: dtype None is not a dtype (use np.float32 or np.float64)")
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"{who}: {dtype!r} is not a dtype ({exc})") from None
    if resolved.kind != "f":
        raise DTypeError(f"{who}: parameters hold floating numbers; {resolved} is not a floating "
                         f"dtype (use np.float32 or np.float64)")
    return resolved


def state_problems(params, described):
    """What keeps a state from fitting `params` ({name: Tensor}), as a list of phrases:
    missing and unexpected names, shapes that differ, dtypes that are not real numbers.
    `described` maps each name of the state to (shape, dtype), or to None if it is not an
    array."""
    missing = sorted(set(params) - set(described))
    unexpected = sorted(map(str, set(described) - set(params)))
    wrong, kinds = [], []
    for name, param in params.items():
        if described.get(name) is None:
            continue
        shape, dtype = described[name]
        if tuple(shape) != param.shape:
            wrong.append(f"{name}: model {param.shape}, saved {tuple(shape)}")
        elif dtype.kind not in "fiu":
            kinds.append(f"{name}: holds {dtype} values, not real numbers")
    return (([f"missing from the saved state: {', '.join(missing)}"] if missing else [])
            + ([f"not in the model: {', '.join(unexpected)}"] if unexpected else [])
            + ([f"shape mismatch: {'; '.join(wrong)}"] if wrong else []) + kinds)


def _described(value):
    if isinstance(value, Tensor):
        kind = "the output of " + repr(value.op) if not value.is_leaf else "a leaf"
        return f"{kind} of shape {value.shape} that does not require grad" \
            if not value.requires_grad else f"{kind} of shape {value.shape}"
    return type(value).__name__


def _converted(array, param):
    """array in param's dtype, and what is wrong (None if nothing)."""
    if not param.data.flags.writeable:
        return None, "the parameter's array is read-only"
    with np.errstate(over="ignore", invalid="ignore"):
        converted = np.array(array, dtype=param.dtype)    # a copy: the state may alias a param
    if array.dtype.kind in "fiu" and converted.dtype != array.dtype:   # 100000 -> float16 inf
        overflowed = np.isfinite(array) & ~np.isfinite(converted)
        if overflowed.any():
            index = tuple(int(i) for i in np.argwhere(overflowed)[0])
            return None, (f"{array[index]!r} at index {index} overflows the parameter's dtype "
                          f"{param.dtype}")
    return converted, None


def init_uniform(rng, shape, fan_in, name, dtype=np.float64):
    """A parameter drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for
    Linear and RNN layers."""
    bound = 1.0 / np.sqrt(fan_in)
    return Tensor(rng.uniform(-bound, bound, size=shape).astype(dtype), requires_grad=True,
                  name=name)
