"""PyTorch as an oracle for nn's modules: the same weights in both, then outputs and every
gradient compared. Used by the tests that ``pytest.importorskip("torch")`` first."""

import numpy as np

import engine


def same_weights(ours, theirs, rng=None):
    """Give ``theirs`` (a torch module, made float64) random non-default parameters when
    ``rng`` is given, then load its state dict into ``ours`` (made float64)."""
    theirs.double()
    ours.double()
    if rng is not None:
        for p in theirs.parameters():
            p.data = p.data.new_tensor(rng.standard_normal(tuple(p.shape)))
    result = ours.load_state_dict(theirs.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    return ours, theirs


def outputs_and_gradients(ours, theirs, x, rng, *, rtol=1e-10, atol=1e-12):
    """Run both modules on ``x`` (a float64 array), backpropagate the same random weights of
    the output, and compare the outputs, the input gradients and every parameter's gradient."""
    import torch

    ex, tx = engine.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(ex), theirs(tx)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    weight = rng.standard_normal(out.shape)
    out.backward(engine.tensor(weight))
    expected.backward(torch.tensor(weight))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    ours_named, theirs_named = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(ours_named) == list(theirs_named)
    for name, p in ours_named.items():
        q = theirs_named[name]
        if q.grad is None:
            assert p.grad is None, name
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=name)
    return out, expected


def check_module(module, x):
    """gradcheck of module(x) with respect to x and every parameter (perturbed in place)."""
    return engine.gradcheck(lambda x, *params: module(x), [x, *module.parameters()])
