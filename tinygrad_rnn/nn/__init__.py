"""Modules: feed-forward layers, the lecture's feed-forward sequence baselines, recurrent
models unrolled by one loop, sequence losses, and the losses as modules."""
from . import utils
from .dropout import Dropout
from .embedding import Embedding
from .feedforward_sequence import TemporalConv, WindowedMLP
from .gated import GRU, LSTM, GatedRecurrent
from .layer_norm import LayerNorm
from .layers import MLP, Linear, get_activation
from .loss_modules import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module
from .recurrent import Elman, Jordan, RecurrentModule, Stacked, StateSpace
from .sequence_loss import last_step_loss, loss_terms, loss_vector, sequence_loss
from .sequential import ReLU, Sequential, Sigmoid, Tanh
from .unroll import unroll
