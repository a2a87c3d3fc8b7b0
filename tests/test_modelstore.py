"""Model files: arrays in .npz, structure in JSON, nothing in them can run code when loaded."""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from triagebot.core.classify import TrainedModel
from triagebot.core.kb import KnowledgeBase
from triagebot.errors import ModelError
from triagebot.modelstore import (
    MODEL_FILE,
    ModelMeta,
    allowed_types,
    load_model,
    pack,
    save_model,
    unpack,
)


@dataclass(frozen=True, slots=True)
class Leaf:
    name: str
    values: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Root:
    leaves: tuple[Leaf, ...]
    table: dict[str, int]
    words: tuple[str, ...]
    nested: list[dict[str, float | None]]
    flag: bool
    maybe: Leaf | None = None


def _root() -> Root:
    return Root(
        leaves=(Leaf("a", np.arange(6, dtype=np.float64).reshape(2, 3)), Leaf("b", np.zeros(0))),
        table={f"gram {i}": i for i in range(100)} | {"": -1},
        words=tuple(f"w{i}" for i in range(70)) + ("",),
        nested=[{"x": 1.5, "y": None}, {}],
        flag=True,
    )


def test_allowed_types_follow_the_field_types() -> None:
    assert allowed_types(Root) == {"Root": Root, "Leaf": Leaf}
    assert set(allowed_types(TrainedModel)) >= {"TrainedModel", "CompiledModel", "FeatureBlock"}


def test_round_trip_keeps_every_value_and_type() -> None:
    original = _root()
    back = unpack(pack(original, Root), Root)
    assert back.table == original.table and back.words == original.words and back.nested == original.nested
    assert isinstance(back.words, tuple) and isinstance(back.nested, list) and back.flag is True
    assert back.maybe is None
    for got, want in zip(back.leaves, original.leaves, strict=True):
        assert got.name == want.name and got.values.dtype == want.values.dtype
        np.testing.assert_array_equal(got.values, want.values)
        assert not got.values.flags.writeable  # a loaded model is read-only


def _members(data: bytes) -> dict[str, np.ndarray[Any, Any]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _with_structure(data: bytes, edit: Any) -> bytes:
    members = _members(data)
    document = json.loads(members["structure"].tobytes().decode("utf-8"))
    members["structure"] = np.frombuffer(json.dumps(edit(document)).encode("utf-8"), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **members)
    return out.getvalue()


def test_a_file_naming_another_class_is_refused() -> None:
    def rename(document: dict[str, Any]) -> dict[str, Any]:
        document["fields"]["leaves"]["items"][0]["type"] = "Path"
        return document

    with pytest.raises(ValueError, match="class that is not part of a model: 'Path'"):
        unpack(_with_structure(pack(_root(), Root), rename), Root)


def test_a_file_with_other_fields_is_refused() -> None:
    def extra(document: dict[str, Any]) -> dict[str, Any]:
        document["fields"]["leaves"]["items"][0]["fields"]["__class__"] = "x"
        return document

    with pytest.raises(ValueError, match="the saved Leaf has other fields"):
        unpack(_with_structure(pack(_root(), Root), extra), Root)


def test_object_arrays_and_pickles_are_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    out = io.BytesIO()
    np.savez(out, structure=np.frombuffer(b'{"$": "array", "name": "a0"}', dtype=np.uint8),
             a0=np.array([Path(marker)], dtype=object))  # fmt: skip
    with pytest.raises(ValueError, match="Python objects"):
        unpack(out.getvalue(), Root)

    class Runs:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (marker,))

    with pytest.raises(ValueError):
        unpack(pickle.dumps(Runs()), Root)
    assert not marker.exists()


def test_values_a_model_may_not_hold_are_refused() -> None:
    with pytest.raises(ValueError, match="a set cannot be saved"):
        pack(Root((), {}, (), [{"x": {1.0}}], False), Root)  # type: ignore[dict-item]


def test_saved_model_loads_back_equal(
    trained: tuple[TrainedModel, ModelMeta], kb: KnowledgeBase, tmp_path: Path
) -> None:
    model, _ = trained
    save_model(model, tmp_path, trained_at="2026-01-01T00:00:00+00:00", examples=0)
    assert (tmp_path / MODEL_FILE).is_file() and not (tmp_path / "classifier.pickle").exists()
    loaded, meta = load_model(tmp_path, kb.digest)
    assert meta.model_format == 3
    for field in fields(TrainedModel):
        got, want = getattr(loaded, field.name), getattr(model, field.name)
        if isinstance(want, np.ndarray):
            np.testing.assert_array_equal(got, want)
    assert loaded.labels == model.labels and loaded.feature_names == model.feature_names
    assert loaded.sweep == model.sweep and loaded.threshold == model.threshold
    for got_block, want_block in zip(loaded.compiled.blocks, model.compiled.blocks, strict=True):
        assert (
            got_block.vocabulary == want_block.vocabulary and got_block.ngram_range == want_block.ngram_range
        )
        np.testing.assert_array_equal(got_block.idf, want_block.idf)
    np.testing.assert_array_equal(loaded.compiled.weights, model.compiled.weights)


def test_a_crafted_model_file_is_a_clear_model_error(
    trained: tuple[TrainedModel, ModelMeta], kb: KnowledgeBase, tmp_path: Path
) -> None:
    model, _ = trained
    save_model(model, tmp_path, trained_at="2026-01-01T00:00:00+00:00", examples=0)
    path = tmp_path / MODEL_FILE

    def rename(document: dict[str, Any]) -> dict[str, Any]:
        document["type"] = "Popen"
        return document

    path.write_bytes(_with_structure(path.read_bytes(), rename))
    with pytest.raises(
        ModelError, match=r"cannot load \(the file names a class that is not part of a model: 'Popen'\)"
    ):
        load_model(tmp_path, kb.digest)
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load .*run `triagebot train`"):
        load_model(tmp_path, kb.digest)
    path.unlink()
    with pytest.raises(ModelError, match="no trained model"):
        load_model(tmp_path, kb.digest)


def test_an_old_pickled_model_is_never_unpickled(
    trained: tuple[TrainedModel, ModelMeta], kb: KnowledgeBase, tmp_path: Path
) -> None:
    model, _ = trained
    save_model(model, tmp_path, trained_at="2026-01-01T00:00:00+00:00", examples=0)
    meta = json.loads((tmp_path / "classifier.json").read_text())
    meta["model_format"] = 2  # the pickle format
    (tmp_path / "classifier.json").write_text(json.dumps(meta))
    (tmp_path / MODEL_FILE).unlink()
    marker = tmp_path / "ran"

    class Runs:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (marker,))

    (tmp_path / "classifier.pickle").write_bytes(pickle.dumps(Runs()))
    with pytest.raises(
        ModelError, match="saved in format 2, this triagebot reads format 3: run `triagebot train`"
    ):
        load_model(tmp_path, kb.digest)
    assert not marker.exists()
    save_model(model, tmp_path, trained_at="2026-01-02T00:00:00+00:00", examples=0)
    assert not (tmp_path / "classifier.pickle").exists()
    assert load_model(tmp_path, kb.digest)[1].model_format == 3
