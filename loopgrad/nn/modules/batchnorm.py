from nn import BatchNorm1d
