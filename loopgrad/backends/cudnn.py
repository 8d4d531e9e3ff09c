"""torch.backends.cudnn's flags, kept for programs that set them: loopgrad has its own
fused recurrent kernels, not cuDNN, so they change nothing."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    return False
