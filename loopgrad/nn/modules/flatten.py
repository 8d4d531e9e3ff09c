from nn import Flatten, Unflatten
