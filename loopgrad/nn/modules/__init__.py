"""torch.nn.modules: the module paths PyTorch's classes live at (``torch.nn.modules.rnn.LSTM``),
which programs name, e.g. in the allowlists of ``torch.serialization.safe_globals``."""

from loopgrad.nn.modules import (
    activation,
    batchnorm,
    container,
    dropout,
    flatten,
    linear,
    loss,
    module,
    normalization,
    rnn,
    sparse,
    transformer,
)
from loopgrad.nn.modules.activation import *
from loopgrad.nn.modules.batchnorm import *
from loopgrad.nn.modules.container import *
from loopgrad.nn.modules.dropout import *
from loopgrad.nn.modules.flatten import *
from loopgrad.nn.modules.linear import *
from loopgrad.nn.modules.loss import *
from loopgrad.nn.modules.module import *
from loopgrad.nn.modules.normalization import *
from loopgrad.nn.modules.rnn import *
from loopgrad.nn.modules.sparse import *
from loopgrad.nn.modules.transformer import *
from nn.safe_pickle import register_class_path

_FILES = [activation, batchnorm, container, dropout, flatten, linear, loss, module,
          normalization, rnn, sparse, transformer]
__all__ = sorted({name for f in _FILES for name in vars(f) if name[0].isupper()})

# a file may name these classes by PyTorch's paths (``torch.nn.modules.rnn.LSTM``): they
# resolve to ours (once allowlisted, as in PyTorch), and whole modules are saved under them
for _file in _FILES:
    for _name in sorted(vars(_file)):
        if _name[0].isupper():
            register_class_path(f"torch.nn.modules.{_file.__name__.rsplit('.', 1)[1]}.{_name}",
                                getattr(_file, _name))
