"""List the torch functions, Tensor methods, operators and properties that each corpus
program's own code calls, by running it with PyTorch under a TorchFunctionMode.

    python -m tests.programs.trace_api [NAME ...]

Each program runs as its test runs it (harness.PROGRAMS' flags, PyTorch). A call is
logged when the frame that makes it is a line of the program (not torch calling
itself), with the keyword arguments it got. What does not pass through
``__torch_function__`` (module classes, optimizers, ``torch.from_numpy``, legacy
constructors such as ``torch.LongTensor``, ``torch.save``) is not seen here: the static
scan of ``test_programs.test_inventory_names_every_torch_name`` covers those. The
results went into INVENTORY.md.

Offline, by hand, with PyTorch installed; importing this module imports nothing of torch.
"""

import collections
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.abspath(__file__)
SKIPPED_FRAMES = ("overrides.py", "_device.py", os.path.basename(HERE))


def _name(func):
    owner = getattr(func, "__self__", None)
    if type(owner).__name__ == "getset_descriptor":  # a property: Tensor.data, Tensor.grad
        return f"Tensor.{owner.__name__} ({func.__name__.strip('_')})"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    for prefix in ("_TensorBase.", "TensorBase."):
        if name.startswith(prefix):
            return "Tensor." + name[len(prefix):]
    if name.startswith("Tensor."):
        return name
    module = (getattr(func, "__module__", None) or "").replace("torch._VariableFunctions", "torch")
    return f"{module}.{name}".replace("torch._VariableFunctionsClass.", "torch.")


def traced_main(out, script, args):
    """Run ``script`` as __main__ in the current directory, logging its torch calls."""
    import atexit
    import runpy

    from torch.overrides import TorchFunctionMode

    folder = os.path.realpath(os.getcwd())
    calls = collections.Counter()

    class Log(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.endswith(SKIPPED_FRAMES):
                frame = frame.f_back
            # a torch function written in Python dispatches itself: skip that frame too
            if (frame is not None and f"{os.sep}torch{os.sep}" in frame.f_code.co_filename
                    and frame.f_code.co_name in (getattr(func, "__name__", ""), "_fn", "wrapped")):
                frame = frame.f_back
            if frame is not None and os.path.realpath(frame.f_code.co_filename).startswith(folder):
                calls[(_name(func), ",".join(sorted(kwargs)))] += 1
            return func(*args, **kwargs)

    def dump():
        with open(out, "w") as f:
            json.dump(sorted([name, kw, n] for (name, kw), n in calls.items()), f)

    atexit.register(dump)
    sys.argv = [script, *args]
    sys.path[0] = os.getcwd()
    with Log():
        runpy.run_path(script, run_name="__main__")


def trace(program):
    """[(name, keyword arguments, calls)] for one program."""
    from tests.programs import harness

    with tempfile.TemporaryDirectory() as tmp:
        workdir = os.path.join(tmp, "run")
        harness.prepare(program, workdir, "pytorch")
        out = os.path.join(tmp, "calls.json")
        done = subprocess.run([sys.executable, HERE, "--traced", out, program.entry,
                               *program.args], cwd=workdir,
                              env=harness.environment(workdir, "pytorch"),
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program.name} failed:\n{done.stderr[-3000:]}")
        with open(out) as f:
            return [tuple(row) for row in json.load(f)]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--traced"]:
        traced_main(argv[1], argv[2], argv[3:])
        return 0
    from tests.programs import harness

    for program in harness.PROGRAMS:
        if argv and program.name not in argv:
            continue
        print(f"== {program.name}")
        for name, keywords, n in trace(program):
            print(f"  {name}({keywords})  x{n}" if keywords else f"  {name}  x{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
