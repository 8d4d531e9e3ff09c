"""LBFGS and its strong-Wolfe line search, ported from PyTorch's ``torch/optim/lbfgs.py``
(itself from minFunc and Torch7's ``lswolfe.lua``) onto our arrays.

The parameters are handled as one flat vector x of n elements (``_gather_flat_grad``
concatenates the gradients; ``_add_grad`` adds a step to each parameter's slice).
Scalars (directional derivatives, step lengths, curvatures) are NumPy scalars of the
parameters' dtype where PyTorch has 0-d tensors, so a float32 run rounds as PyTorch's.
"""

import numpy as np

from engine import Tensor, backend, enable_grad
from nn.optim.optimizer import (
    Optimizer,
    as_number,
    check_nonnegative,
    grad_problem,
    to_number,
)


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), kept within
    ``bounds`` (default: between x1 and x2); their midpoint if the cubic has none."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    # d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2),  d2 = sqrt(d1^2 - g1 g2)
    # min_pos = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, dot, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step length t along ``d`` meeting the strong Wolfe conditions
    f(x + t d) <= f + c1 t gtd and |g(x + t d) . d| <= -c2 gtd: first bracket an
    interval holding one, then zoom into it by cubic interpolation.
    Returns (f_new, g_new, t, function evaluations)."""
    d_norm = d.dtype.type(to_number(abs(d).max()))
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = dot(g_new, d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:  # out of evaluations: the bracket is [0, t]
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: refine the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # bracket too small
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to an end of the bracket, twice or at the end itself: move t to
        # 0.1 of the bracket's length away from the nearer end
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not met, or not lower than the lowest point: new high
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # the Wolfe conditions hold
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high becomes the new low
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            # the new point becomes the new low
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS (Nocedal 1980; Liu & Nocedal 1989), PyTorch's algorithm: ``step(closure)``
    runs up to ``max_iter`` iterations, each evaluating ``closure()`` (which zeroes the
    gradients, computes the loss, calls ``backward()`` and returns the loss).

    Direction: d = -H g, with H g from the two-loop recursion over the last
    ``history_size`` pairs s = t d, y = g_new - g_old (kept when y . s > 1e-10) and
    the initial scale y . s / y . y. Step: t = lr (the first iteration:
    min(1, 1 / |g|_1) lr), or from the strong-Wolfe line search when
    ``line_search_fn="strong_wolfe"``. Stops early when max |g| <= tolerance_grad,
    the step or the change of loss is below tolerance_change, or after ``max_eval``
    evaluations (default ``max_iter * 5 // 4``). One parameter group only.

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.array([3.0, -2.0]))
    >>> optimizer = LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     optimizer.zero_grad()
    ...     loss = ((w - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = optimizer.step(closure); [round(v, 6) for v in w.tolist()]
    [1.0, 1.0]
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), max_iter=max_iter, max_eval=max_eval,
            tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
            history_size=history_size, line_search_fn=line_search_fn))

    def add_param_group(self, param_group):
        if self.param_groups:  # refused before anything changes (PyTorch fails in step)
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _check_group(self, group):
        check_nonnegative(group, "lr")
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Invalid {name} value: {value!r} (expected an int >= 1)")
        check_nonnegative(group, "tolerance_grad", "tolerance_change")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn must be None or 'strong_wolfe' (only "
                             f"'strong_wolfe' is supported); got {group['line_search_fn']!r}")

    # ------------------------------------------------------------ the flat vector

    def _flat_params(self):
        return self.param_groups[0]["params"]

    def _gather_flat_grad(self):
        """All gradients as one vector (zeros where a parameter has none), each checked."""
        views = []
        for i, p in enumerate(self._flat_params()):
            if p.grad is None:
                views.append(backend.xp_of(p.array).zeros(p.numel(), p.dtype))
                continue
            problem = grad_problem(p, p.grad)
            if problem:
                names = self.param_groups[0].get("param_names")
                who = f"parameter {names[i]!r}" if names else f"parameter {i}"
                raise RuntimeError(f"LBFGS.step: the gradient of {who} {problem}")
            views.append(p.grad.array.reshape(-1))
        return backend.xp_of(views[0]).concatenate(views)

    def _add_grad(self, step_size, update):
        """x <- x + step_size * update, slice by slice into the parameters."""
        offset = 0
        for p in self._flat_params():
            n = p.numel()
            p.array += step_size * update[offset:offset + n].reshape(p.shape)
            p._bump_version()
            offset += n

    def _clone_param(self):
        return [p.array.copy() for p in self._flat_params()]

    def _set_param(self, arrays):
        for p, array in zip(self._flat_params(), arrays):
            p.array[...] = array
            p._bump_version()

    def _directional_evaluate(self, closure, x, t, d):
        """(f, g) at x + t d, then back to x."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------ the step

    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the first ``closure()`` value."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        params = self._flat_params()
        if len({str(p.device) for p in params}) > 1:
            raise RuntimeError("LBFGS needs all its parameters on one device; got "
                               f"{sorted({str(p.device) for p in params})}")
        closure = enable_grad()(closure)

        # the first evaluation, its gradients checked before any state changes
        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        flat_grad = self._gather_flat_grad()
        xp, scalar = backend.xp_of(flat_grad), flat_grad.dtype.type

        def dot(a, b):
            return scalar(to_number(xp.dot(a, b)))

        def abs_max(a):
            return scalar(to_number(abs(a).max()))

        # LBFGS's state is global; PyTorch keeps it under the first parameter
        state = self.state[params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        state["func_evals"] += 1
        if abs_max(flat_grad) <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- the descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = dot(y, s)
                if ys > 1e-10:  # update the memory
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / dot(y, y)  # the scale of the initial inverse Hessian
                # the two-loop recursion: d = -H g
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = dot(old_stps[i], q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = dot(old_dirs[i], r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # ---- the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / scalar(to_number(abs(flat_grad).sum()))) * lr
            else:
                t = lr
            gtd = dot(flat_grad, d)  # the directional derivative
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, dot,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = abs_max(flat_grad) <= tolerance_grad
            else:
                self._add_grad(t, d)  # a fixed step
                opt_cond = False
                if n_iter != max_iter:  # no re-evaluation after the last iteration
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = abs_max(flat_grad) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stop?
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if abs_max(d * t) <= tolerance_change:  # no progress in x
                break
            if abs(loss - prev_loss) < tolerance_change:  # no progress in f
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # ------------------------------------------------------------ state

    def _load_state(self, p, values, where):
        """LBFGS's global state: flat arrays of n elements beside the parameters, scalars
        in their dtype, counts as ints."""
        n = sum(q.numel() for q in self._flat_params())

        def load(value, name):
            value = value.array if isinstance(value, Tensor) else value
            if isinstance(value, (list, tuple)):
                return [load(v, name) for v in value]
            if backend.is_array(value) and value.ndim == 1:
                if value.shape != (n,):
                    raise ValueError(f"load_state_dict: {where}[{name!r}] has shape "
                                     f"{value.shape}, but the parameters have {n} elements")
                return backend.to_device(value.astype(p.dtype, copy=True), p.device)
            if backend.is_array(value) or isinstance(value, np.generic):
                return p.dtype.type(to_number(value))
            return value

        return {name: load(value, name) for name, value in values.items()}
