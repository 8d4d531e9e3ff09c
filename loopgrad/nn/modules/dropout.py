from nn import Dropout, Dropout1d, Dropout2d
