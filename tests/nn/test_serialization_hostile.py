"""Hostile and broken files for nn.torch_format.load: pickles that would run a command, forged
tensor structures, bombs, and corrupt or foreign files. Each hostile one runs nothing (a
marker file it would create stays absent) and every refusal is one CheckpointError naming
the file, without inviting the user to turn unsafe loading on."""

import io
import os
import pickle
import struct
import time
import zipfile

import numpy as np
import pytest

import nn
import rnn  # noqa: F401 - imported, so its functions may be named as values
from nn import safe_pickle, torch_format
from nn.serialization import CheckpointError


@pytest.fixture(autouse=True)
def clean_allowlist(monkeypatch):
    monkeypatch.setattr(safe_pickle, "_safe_globals", [])


def s(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def i(n):
    data = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def tup(items):
    return b"(" + b"".join(i(n) for n in items) + b"t"


def tensor_pickle(numel=3, offset=0, size=(3,), stride=(1,), kind=b"FloatStorage", key="0",
                  requires_grad=False, tag="storage"):
    """A data.pkl of one tensor, as torch.save writes it, with every field forgeable."""
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((" + s(tag) + b"ctorch\n" + kind
            + b"\n" + s(key) + s("cpu") + i(numel) + b"tQ" + i(offset) + tup(size) + tup(stride)
            + (b"\x88" if requires_grad else b"\x89") + b"ccollections\nOrderedDict\n)RtR.")


def torch_zip(pickled, storages=None):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/byteorder", "little")
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


def refused(tmp_path, data, match, name="hostile.pt"):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match=match) as caught:
        torch_format.load(path)
    message = str(caught.value)
    assert str(path) in message, message
    for invitation in ("weights_only", "allow_pickle", "unsafe", "trust_remote"):
        assert invitation not in message, message
    return message


class Command:
    """What an attacker pickles: unpickling it runs ``command`` through os.system."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class Evaluate(Command):
    def __reduce__(self):
        return eval, (f"__import__('os').system({self.command!r})",)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "marker"
    yield path
    assert not path.exists(), "a hostile file ran code"


def test_the_payload_is_real(tmp_path):
    # the control: plain pickle does run it, so the refusals below mean something
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Command(f"touch {control}"), protocol=2))
    assert control.exists()


def test_pickles_that_run_commands_run_nothing(tmp_path, marker):
    command = f"touch {marker}"
    payloads = {
        "os.system": pickle.dumps(Command(command), protocol=2),
        "eval": pickle.dumps(Evaluate(command), protocol=2),
        "protocol 4": pickle.dumps(Command(command), protocol=4),
        "os by name": b"\x80\x02cos\nsystem\n" + s(command) + b"\x85R.",
        "subprocess": b"\x80\x02csubprocess\ncall\n" + s(command) + b"\x85R.",
        "import": b"\x80\x02cbuiltins\n__import__\n" + s("os") + b"\x85R.",
        "getattr": b"\x80\x02cbuiltins\ngetattr\n" + s("x") + s("y") + b"\x86R.",
        "importlib": b"\x80\x02cimportlib\nimport_module\n" + s("os") + b"\x85R.",
    }
    for name, payload in payloads.items():
        for data in (payload, torch_zip(payload)):  # bare, and inside a torch.save zip
            with pytest.raises(CheckpointError) as caught:
                torch_format.load(io.BytesIO(data))
            assert "weights_only" not in str(caught.value), name
        message = refused(tmp_path, torch_zip(payload), "never allowed|not allowed")
        assert "import" in message, (name, message)


def test_allowlisting_a_dangerous_global_does_not_admit_it(tmp_path, marker):
    payload = pickle.dumps(Command(f"touch {marker}"), protocol=2)
    nn.safe_pickle.add_safe_globals([os.system, eval])
    refused(tmp_path, torch_zip(payload), "never allowed")
    nn.safe_pickle.add_safe_globals([(os.system, "harmless.run")])  # an alias changes nothing
    aliased = b"\x80\x02charmless\nrun\n" + s(f"touch {marker}") + b"\x85R."
    refused(tmp_path, torch_zip(aliased), "never allowed")


def test_opcodes_that_build_objects_other_ways_are_refused(tmp_path, marker):
    command = f"touch {marker}".encode()
    payloads = {
        "INST": b"(S'" + command + b"'\nios\nsystem\n.",
        "OBJ": b"\x80\x02(cos\nsystem\nX" + struct.pack("<I", len(command)) + command + b"o.",
        "EXT1": b"\x80\x02\x82\x01.",
        "PERSID": b"\x80\x02Pstorage\n.",
        "protocol 0": pickle.dumps(Command(f"touch {marker}"), protocol=0),
    }
    for payload in payloads.values():
        refused(tmp_path, torch_zip(payload), "opcode|not allowed|never allowed")


def test_stack_operations_are_limited_to_their_own_types(tmp_path):
    library_call = b"\x80\x02crnn.cells\nlstm_cell\n)R."
    refused(tmp_path, torch_zip(library_call), "not a function it may call")
    append_to_dict = b"\x80\x02}K\x01a."
    refused(tmp_path, torch_zip(append_to_dict), "APPEND works on a list only")
    setitem_on_list = b"\x80\x02]K\x01K\x02s."
    refused(tmp_path, torch_zip(setitem_on_list), "SETITEM works on a dict only")
    build_on_tensor = tensor_pickle()[:-1] + b"}b."
    refused(tmp_path, torch_zip(build_on_tensor, {"0": bytes(12)}), "sets the state of a Tensor")
    huge_string = b"\x80\x02\x8d" + struct.pack("<Q", 2**60) + b"."
    refused(tmp_path, torch_zip(huge_string), "truncated")
    not_storage = b"\x80\x02" + s("evil") + b"\x85Q."
    refused(tmp_path, torch_zip(not_storage), "persistent id must be")


def test_a_memo_index_of_four_billion_costs_nothing():
    # pickle's C unpickler sizes its memo by the index: LONG_BINPUT 2**32-16 asks for 64 GB
    start = time.perf_counter()
    assert torch_format.load(io.BytesIO(torch_zip(b"\x80\x02Nr\xf0\xff\xff\xff."))) is None
    assert time.perf_counter() - start < 5


def test_forged_tensor_structures_are_refused_before_allocating(tmp_path):
    twelve = {"0": np.arange(3, dtype="<f4").tobytes()}
    assert torch_format.load(io.BytesIO(torch_zip(tensor_pickle(), twelve))).tolist() == [0, 1, 2]
    cases = [
        (tensor_pickle(numel=4), twelve, "holds 12 bytes where the data declares 16"),
        (tensor_pickle(numel=10**15), twelve, "declares 4000000000000000"),
        (tensor_pickle(offset=3), twelve, "reaches element 5"),
        (tensor_pickle(size=(2,), stride=(3,)), twelve, "reaches element 3"),
        (tensor_pickle(size=(2, 2)), twelve, "differ in length"),
        (tensor_pickle(offset=-1), twelve, "offset must be an int >= 0"),
        (tensor_pickle(size=(-3,)), twelve, "non-negative ints"),
        (tensor_pickle(key="7"), twelve, "storage '7' has no record"),
        (tensor_pickle(kind=b"LongStorage", requires_grad=True, numel=1, size=(1,)),
         {"0": bytes(8)}, "cannot require grad"),
        (tensor_pickle(kind=b"QInt8Storage"), twelve, "QInt8Storage .* not supported"),
        (tensor_pickle(tag="module"), twelve, "persistent id must be"),
    ]
    for pickled, storages, match in cases:
        refused(tmp_path, torch_zip(pickled, storages), match)


def test_an_overlapping_view_of_a_huge_declared_shape_costs_no_memory():
    data = torch_zip(tensor_pickle(numel=1, size=(10**6, 10**6), stride=(0, 0)),
                     {"0": np.ones(1, dtype="<f4").tobytes()})
    tensor = torch_format.load(io.BytesIO(data))
    assert tensor.shape == (10**6, 10**6) and not tensor.array.flags.writeable
    assert tensor.array.base is not None  # a view of the 4-byte storage, nothing copied


def test_a_zip_bomb_s_claimed_size_is_refused_before_reading(tmp_path):
    numel = 2**30 - 1  # 4 GiB of float32, claimed by a 12-byte record
    data = bytearray(torch_zip(tensor_pickle(numel=numel, size=(numel,)), {"0": bytes(12)}))
    entry = bytes(data).find(b"PK\x01\x02")  # the central directory's first entry
    while entry >= 0:  # patch the uncompressed size it gives data/0
        name_length = struct.unpack("<H", data[entry + 28:entry + 30])[0]
        if data[entry + 46:entry + 46 + name_length] == b"archive/data/0":
            data[entry + 24:entry + 28] = struct.pack("<I", 4 * numel)
            break
        entry = bytes(data).find(b"PK\x01\x02", entry + 4)
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("archive/data/0").file_size == (
        4 * numel)
    refused(tmp_path, bytes(data), "claims 4294967292 bytes from 12")


def test_a_storage_declared_with_two_dtypes_is_refused(tmp_path):
    body = tensor_pickle()[2:-1]
    second = tensor_pickle(kind=b"IntStorage")[2:-1]
    pickled = b"\x80\x02" + body + second + b"\x86."
    refused(tmp_path, torch_zip(pickled, {"0": bytes(12)}), "declared as both")


def test_a_module_class_is_never_called_even_when_allowlisted(tmp_path, marker):
    nn.safe_pickle.add_safe_globals([nn.Linear])
    call = b"\x80\x02cnn.layers\nLinear\nK\x02K\x03\x86R."
    refused(tmp_path, torch_zip(call), "never constructed")
    bad_parameter = (b"\x80\x02cnn.layers\nLinear\n)\x81}" + s("_parameters") + b"}"
                     + s("weight") + s("text") + b"ssb.")
    refused(tmp_path, torch_zip(bad_parameter), "parameter 'weight' must be a tensor")
    dunder = b"\x80\x02cnn.layers\nLinear\n)\x81}" + s("__class__") + b"K\x01sb."
    refused(tmp_path, torch_zip(dunder), "not allowed")


# ---------------------------------------------------------------- corrupt and foreign files


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's, making a TorchScript file
def test_corrupt_and_foreign_files_give_one_error_naming_the_file(tmp_path):
    good = io.BytesIO()
    torch_format.save({"w": np.ones(64, dtype=np.float32)}, good)
    good = good.getvalue()
    flipped = bytearray(good)
    offset = good.find(np.ones(64, dtype="<f4").tobytes())
    flipped[offset + 5] ^= 0xFF
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "hello")
    np.save(tmp_path / "a.npy", np.ones(2))
    files = {
        "truncated.pt": (good[: len(good) // 2], "truncated or corrupt"),
        "flipped.pt": (bytes(flipped), "Bad CRC|corrupt"),
        "text.pt": (b"just some text\n", "is not a checkpoint"),
        "array.pt": ((tmp_path / "a.npy").read_bytes(), "single NumPy array"),
        "other.pt": (other.getvalue(), "zip archive but not a checkpoint"),
        "empty.pt": (b"", "is empty"),
        "bare.pt": (pickle.dumps({"a": 1}, protocol=2), "bare Python pickle"),
    }
    torch = None
    try:
        import torch
    except ImportError:
        pass
    if torch is not None:
        legacy = io.BytesIO()
        torch.save({"a": torch.ones(1)}, legacy, _use_new_zipfile_serialization=False)
        script = io.BytesIO()
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), script)
        files["legacy.pt"] = (legacy.getvalue(), "legacy format")
        files["script.pt"] = (script.getvalue(), "TorchScript")
    for name, (data, match) in files.items():
        refused(tmp_path, data, match, name)
    with pytest.raises(FileNotFoundError):
        torch_format.load(tmp_path / "absent.pt")
