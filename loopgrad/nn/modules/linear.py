from nn import Identity, Linear

NonDynamicallyQuantizableLinear = Linear  # PyTorch's name for MultiheadAttention's out_proj
