"""Save and load the trained classifier, stamped with the knowledge-base hash and library versions.

A model trained for another knowledge base or with other library versions is never used silently:
`load_model` raises ModelError saying why, and the caller retrains or stops.

The model file cannot run code when it is loaded. `classifier.npz` holds the model's arrays (read
with `allow_pickle=False`) and, as its `structure` member, a JSON document describing everything
else: frozen dataclasses, tuples, lists, dicts, strings and numbers, with arrays named by reference.
Only the dataclasses reachable from `TrainedModel`'s own field types may be rebuilt; a file naming any
other class is refused. A plain pickle (the earlier format) executes whatever it names.
"""

from __future__ import annotations

import dataclasses
import io
import json
import platform
import struct
import typing
import zipfile
from dataclasses import asdict, dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from triagebot.core.classify import TrainedModel
from triagebot.errors import ModelError

MODEL_FILE = "classifier.npz"
META_FILE = "classifier.json"
OLD_MODEL_FILES = ("classifier.pickle", "classifier.joblib")  # earlier formats, removed on save
# Raised whenever the saved layout changes, so that a model saved by an older triagebot is retrained
# instead of being read into the wrong shape. 3: arrays in .npz and structure in JSON (was a pickle).
MODEL_FORMAT = 3
_STRUCTURE = "structure"  # the npz member holding the JSON document
_PLAIN = (str, int, float, bool, type(None))
_PACKED = 64  # string sequences and str→int maps at least this long go into arrays: JSON reads them slowly
_SEPARATOR = "\x00"
T = TypeVar("T")


class _CodecError(ValueError):
    """A value the model file cannot hold, or a document that does not describe an allowed model."""


def allowed_types(root: type) -> dict[str, type]:
    """The dataclasses a saved `root` may contain: `root` and those named in its field types, recursively.

    The allow-list follows the code, never the file, so changing the model's shape needs no change here.
    """
    found: dict[str, type] = {}
    seen: set[type] = set()

    def visit(hint: Any) -> None:
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            known = found.setdefault(hint.__name__, hint)
            if known is not hint:
                raise _CodecError(f"two model classes are named {hint.__name__}")
            if hint in seen:
                return
            seen.add(hint)
            for field_hint in typing.get_type_hints(hint).values():
                visit(field_hint)
            return
        for arg in typing.get_args(hint):
            visit(arg)

    visit(root)
    return found


class _Encoder:
    """Turns a model into a JSON-ready document plus the arrays it refers to."""

    def __init__(self, allowed: dict[str, type]) -> None:
        self._allowed = allowed
        self.arrays: dict[str, np.ndarray[Any, Any]] = {}

    def encode(self, value: Any) -> Any:
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise _CodecError("an array of Python objects cannot be saved")
            return {"$": "array", "name": self._add(value)}
        if isinstance(value, (list, tuple)) and self._packable(value):
            return {"$": "strings", "tuple": isinstance(value, tuple), "name": self._add(_joined(value))}
        if isinstance(value, dict) and self._packable(value) and _all_int(value.values()):
            keys, values = self._add(_joined(value)), self._add(np.fromiter(value.values(), dtype=np.int64))
            return {"$": "strmap", "keys": keys, "values": values}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, list):
            return [self.encode(item) for item in value]
        if isinstance(value, tuple):
            return {"$": "tuple", "items": [self.encode(item) for item in value]}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise _CodecError("only dicts with string keys can be saved")
            return {"$": "dict", "items": {key: self.encode(item) for key, item in value.items()}}
        cls = type(value)
        if dataclasses.is_dataclass(value) and self._allowed.get(cls.__name__) is cls:
            fields = {
                f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
            }
            return {"$": "object", "type": cls.__name__, "fields": fields}
        raise _CodecError(f"a {cls.__name__} cannot be saved in a model file")

    def _add(self, array: np.ndarray[Any, Any]) -> str:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    @staticmethod
    def _packable(strings: Any) -> bool:
        return len(strings) >= _PACKED and all(type(s) is str and _SEPARATOR not in s for s in strings)


def _joined(strings: Any) -> np.ndarray[Any, Any]:
    return np.frombuffer(_SEPARATOR.join(strings).encode("utf-8"), dtype=np.uint8)


def _all_int(values: Any) -> bool:
    return all(type(v) is int and -(2**63) <= v < 2**63 for v in values)


class _Decoder:
    """Rebuilds a model from its document and arrays, creating only allowed dataclasses."""

    def __init__(self, allowed: dict[str, type], arrays: dict[str, np.ndarray[Any, Any]]) -> None:
        self._allowed = allowed
        self._arrays = arrays
        self._init_fields = {
            name: frozenset(f.name for f in dataclasses.fields(cls) if f.init)
            for name, cls in allowed.items()
        }

    def decode(self, node: Any) -> Any:
        if isinstance(node, _PLAIN):
            return node
        if isinstance(node, list):
            return [item if type(item) in _PLAIN else self.decode(item) for item in node]
        if not isinstance(node, dict):
            raise _CodecError(f"unexpected {type(node).__name__} in the model structure")
        kind = node.get("$")
        if kind == "tuple":
            return tuple(item if type(item) in _PLAIN else self.decode(item) for item in node["items"])
        if kind == "dict":
            items = node["items"]
            if not isinstance(items, dict):
                raise _CodecError("a dict entry without items")
            return {key: item if type(item) in _PLAIN else self.decode(item) for key, item in items.items()}
        if kind == "array":
            return self._array(node["name"])
        if kind == "strings":
            strings = self._strings(node["name"])
            return tuple(strings) if node["tuple"] is True else strings
        if kind == "strmap":
            keys, values = self._strings(node["keys"]), self._array(node["values"])
            if values.dtype != np.int64 or values.shape != (len(keys),):
                raise _CodecError("a saved map whose keys and values do not pair up")
            return dict(zip(keys, values.tolist(), strict=True))
        if kind == "object":
            type_name, fields = node["type"], node["fields"]
            cls = self._allowed.get(type_name) if isinstance(type_name, str) else None
            if cls is None:
                raise _CodecError(f"the file names a class that is not part of a model: {type_name!r}")
            if not isinstance(fields, dict) or set(fields) != self._init_fields[type_name]:
                raise _CodecError(f"the saved {type_name} has other fields than this triagebot's")
            return cls(**{key: self.decode(item) for key, item in fields.items()})
        raise _CodecError(f"unknown entry {kind!r} in the model structure")

    def _array(self, name: Any) -> np.ndarray[Any, Any]:
        if not isinstance(name, str) or name not in self._arrays:
            raise _CodecError(f"the structure refers to a missing array {name!r}")
        return self._arrays[name]

    def _strings(self, name: Any) -> list[str]:
        array = self._array(name)
        if array.dtype != np.uint8 or array.ndim != 1:
            raise _CodecError("saved strings that are not text")
        return str(array.data, "utf-8").split(_SEPARATOR)


def pack(value: object, root: type) -> bytes:
    """The bytes of a `.npz` file holding `value`, built of `root` and the dataclasses it names."""
    encoder = _Encoder(allowed_types(root))
    document = json.dumps(encoder.encode(value), ensure_ascii=False, separators=(",", ":"))
    members = dict(encoder.arrays)
    members[_STRUCTURE] = np.frombuffer(document.encode("utf-8"), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, allow_pickle=False, **members)
    return out.getvalue()


def unpack(data: bytes, root: type[T]) -> T:
    """Rebuild what `pack(value, root)` saved; ValueError when `data` does not hold a `root`."""
    try:
        arrays = _read_npz(data)
        structure = arrays.pop(_STRUCTURE)
        document = json.loads(str(structure.data, "utf-8"))
        value = _Decoder(allowed_types(root), arrays).decode(document)
    except (
        _CodecError,
        KeyError,
        TypeError,
        ValueError,
        OSError,
        EOFError,
        struct.error,
        zipfile.BadZipFile,
    ) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    if not isinstance(value, root):
        raise ValueError(f"the file does not hold a {root.__name__}")
    return value


def _read_npz(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    """The arrays of an uncompressed `.npz`, as views of one buffer.

    `np.load` would do the same with `allow_pickle=False`, but it checks each member's CRC and copies it,
    which takes most of the load time of a model: here the `.npy` headers are read with NumPy's own
    parser and each array is a read-only view at its offset (the model never changes its arrays).
    Object arrays are refused as `np.load` refuses them.
    """
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"unexpected member {info.filename!r} in the model file")
            name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
            start = info.header_offset + 30 + name_length + extra_length
            header = io.BytesIO(data[start : start + min(info.file_size, 65_536)])
            major, minor = np.lib.format.read_magic(header)
            read_header = (
                np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(header)
            if dtype.hasobject:
                raise ValueError("the model file holds Python objects")
            count = int(np.prod(shape, dtype=np.int64))
            if header.tell() + count * dtype.itemsize != info.file_size:
                raise ValueError(f"member {info.filename!r} is damaged")
            flat = np.frombuffer(data, dtype=dtype, count=count, offset=start + header.tell())
            arrays[info.filename.removesuffix(".npy")] = flat.reshape(
                shape, order="F" if fortran_order else "C"
            )
    return arrays


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """What a saved model was built from."""

    kb_digest: str
    sklearn: str
    numpy: str
    scipy: str
    python: str
    trained_at: str
    threshold: float
    labels: list[str]
    examples: int
    sweep: list[dict[str, float]]
    model_format: int = 0  # metadata written before formats were stamped has none
    reviewed: int = 0  # moderators' decisions among the examples (none before they were learnt from)

    @property
    def version(self) -> str:
        """A short id for the model, stored with every triage result."""
        return f"{self.kb_digest[:10]}-{self.trained_at.replace('-', '').replace(':', '')[:15]}"


def library_versions() -> dict[str, str]:
    """The versions a saved model depends on."""
    return {
        "sklearn": installed_version("scikit-learn"),
        "numpy": installed_version("numpy"),
        "scipy": installed_version("scipy"),
        "python": platform.python_version(),
    }


def save_model(
    model: TrainedModel, directory: Path, *, trained_at: str, examples: int, reviewed: int = 0
) -> ModelMeta:
    """Write the model and its metadata into `directory` (created if needed).

    `examples` counts every training example; `reviewed` those that came from moderators' decisions.
    """
    directory.mkdir(parents=True, exist_ok=True)
    meta = ModelMeta(
        kb_digest=model.kb_digest,
        trained_at=trained_at,
        threshold=model.threshold,
        labels=list(model.labels),
        examples=examples,
        sweep=[asdict(point) for point in model.sweep],
        model_format=MODEL_FORMAT,
        reviewed=reviewed,
        **library_versions(),
    )
    tmp = directory / (MODEL_FILE + ".tmp")
    try:
        data = pack(model, TrainedModel)
    except _CodecError as exc:
        raise ModelError(f"the trained model cannot be saved: {exc}") from None
    tmp.write_bytes(data)  # uncompressed: the CLI pays for loading on every start
    tmp.replace(directory / MODEL_FILE)
    for old in OLD_MODEL_FILES:
        (directory / old).unlink(missing_ok=True)
    (directory / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n", encoding="utf-8")
    return meta


def read_meta(directory: Path) -> ModelMeta:
    """The metadata of the saved model. Raises ModelError when there is none or it is unreadable."""
    path = directory / META_FILE
    if not path.is_file():
        raise ModelError(f"no trained model in {directory}: run `triagebot train`")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return ModelMeta(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable model metadata ({exc}): run `triagebot train`") from None


def check_meta(meta: ModelMeta, kb_digest: str) -> None:
    """Raise ModelError when the model does not fit this knowledge base, this triagebot or these libraries."""
    if meta.model_format != MODEL_FORMAT:
        raise ModelError(
            f"the model was saved in format {meta.model_format}, this triagebot reads format {MODEL_FORMAT}: "
            "run `triagebot train`"
        )
    if meta.kb_digest != kb_digest:
        raise ModelError(
            f"the model was trained for knowledge base {meta.kb_digest}, not the current {kb_digest}: "
            "run `triagebot train`"
        )
    current = library_versions()
    for name in ("sklearn", "numpy", "scipy"):
        if getattr(meta, name) != current[name]:
            raise ModelError(
                f"the model was saved with {name} {getattr(meta, name)}, this environment has "
                f"{current[name]}: run `triagebot train`"
            )


def load_model(directory: Path, kb_digest: str) -> tuple[TrainedModel, ModelMeta]:
    """Load the saved model after checking it matches; ModelError otherwise."""
    meta = read_meta(directory)
    check_meta(meta, kb_digest)
    path = directory / MODEL_FILE
    try:
        model = unpack(path.read_bytes(), TrainedModel)
    except FileNotFoundError:
        raise ModelError(f"no trained model in {directory}: run `triagebot train`") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot load ({exc}): run `triagebot train`") from None
    if not isinstance(model, TrainedModel) or model.kb_digest != kb_digest:
        raise ModelError(f"{directory / MODEL_FILE} does not match its metadata: run `triagebot train`")
    return model, meta
