"""Module: a container of named parameters and submodules, as in PyTorch.

Assigning a Tensor that requires grad to an attribute registers it as a parameter under that
name; assigning a Module registers a submodule. `named_parameters()` walks both, in the order
they were assigned, with dotted names ("layers.0.W1").

Saving writes a .npz atomically: the arrays go to a temporary file in the same folder, which
is flushed to disk and then renamed over the target, so a crash mid-save leaves the old file
intact. Loading refuses names or shapes that do not match the model, and says which.
"""
import os

import numpy as np

from ..errors import StateDictError
from ..files import atomic_writer
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
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
            if value.name is None:
                value.name = name
            self._parameters[name] = value
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

    def zero_grad(self):
        for param in self.parameters():
            param.grad = None

    def train(self, mode=True):
        """Set the training flag of this module and every submodule (Dropout drops only in
        training); returns self, as in PyTorch."""
        object.__setattr__(self, "training", bool(mode))
        for module in self._modules.values():
            module.train(mode)
        return self

    def eval(self):
        """train(False): evaluation mode (Dropout passes its input through)."""
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter to `dtype` in place (np.float32 or np.float64); returns self."""
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            param.grad = None
        return self

    # --- state ---
    def state_dict(self):
        """{name: a copy of the parameter's array}."""
        return {name: param._data.copy() for name, param in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy arrays into the parameters in place. Every name must match, every shape too;
        otherwise nothing is changed and StateDictError says what differs."""
        params = dict(self.named_parameters())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        wrong = [f"{name}: model {params[name].shape}, saved {np.shape(state[name])}"
                 for name in params
                 if name in state and params[name].shape != np.shape(state[name])]
        problems = ([f"missing from the saved state: {', '.join(missing)}"] if missing else []) + \
                   ([f"not in the model: {', '.join(unexpected)}"] if unexpected else []) + \
                   ([f"shape mismatch: {'; '.join(wrong)}"] if wrong else [])
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: the saved state does "
                                 f"not fit this model; " + "; ".join(problems))
        for name, param in params.items():
            param.data[...] = np.asarray(state[name], dtype=param.dtype)

    def save(self, path):
        """Write the parameters to `path` (.npz) atomically (files.py): a crash mid-save
        leaves the old file intact."""
        with atomic_writer(path) as file:
            np.savez(file, **self.state_dict())

    def load(self, path):
        """Read parameters saved by save(); refuses a file that does not fit (StateDictError)."""
        path = os.fspath(path)
        try:
            saved = np.load(path, allow_pickle=False)
        except ValueError as exc:      # not a numpy file at all (np.load tried to unpickle it)
            raise StateDictError(f"{type(self).__name__}.load: {path} is not a .npz file of "
                                 f"named arrays written by save() ({exc})") from None
        if not isinstance(saved, np.lib.npyio.NpzFile):     # a bare .npy array: no names
            raise StateDictError(f"{type(self).__name__}.load: {path} holds one unnamed array of "
                                 f"shape {np.shape(saved)}, not a .npz file of named arrays "
                                 f"written by save()")
        with saved:
            self.load_state_dict({name: saved[name] for name in saved.files})
        return self

    def __repr__(self):
        shapes = ", ".join(f"{name}{tuple(p.shape)}" for name, p in self.named_parameters())
        return f"{type(self).__name__}({shapes})"


def init_uniform(rng, shape, fan_in, name, dtype=np.float64):
    """A parameter drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for
    Linear and RNN layers."""
    bound = 1.0 / np.sqrt(fan_in)
    return Tensor(rng.uniform(-bound, bound, size=shape).astype(dtype), requires_grad=True,
                  name=name)
