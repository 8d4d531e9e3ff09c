from rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
from rnn.recurrent import RNNBase  # noqa: F401
