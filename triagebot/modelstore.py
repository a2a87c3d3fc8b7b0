"""Save and load the trained classifier, stamped with the knowledge-base hash and library versions.

A model trained for another knowledge base or with other library versions is never used silently:
`load_model` raises ModelError saying why, and the caller retrains or stops.
"""

from __future__ import annotations

import json
import pickle
import platform
from dataclasses import asdict, dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from triagebot.core.classify import TrainedModel
from triagebot.errors import ModelError

MODEL_FILE = "classifier.pickle"
META_FILE = "classifier.json"
OLD_MODEL_FILES = ("classifier.joblib",)  # written by earlier versions; removed when a model is saved
# Raised whenever the pickled classes (TrainedModel, CompiledModel, …) change shape, so that a model
# saved by an older triagebot is retrained instead of being unpickled into the wrong layout.
MODEL_FORMAT = 2


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

    @property
    def version(self) -> str:
        """A short id for the model, stored with every triage result."""
        return f"{self.kb_digest[:10]}-{self.trained_at.replace('-', '').replace(':', '')[:15]}"


def library_versions() -> dict[str, str]:
    """The versions a pickled model depends on."""
    return {
        "sklearn": installed_version("scikit-learn"),
        "numpy": installed_version("numpy"),
        "scipy": installed_version("scipy"),
        "python": platform.python_version(),
    }


def save_model(model: TrainedModel, directory: Path, *, trained_at: str, examples: int) -> ModelMeta:
    """Write the model and its metadata into `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = ModelMeta(
        kb_digest=model.kb_digest,
        trained_at=trained_at,
        threshold=model.threshold,
        labels=list(model.labels),
        examples=examples,
        sweep=[asdict(point) for point in model.sweep],
        model_format=MODEL_FORMAT,
        **library_versions(),
    )
    tmp = directory / (MODEL_FILE + ".tmp")
    # plain pickle: it loads several times faster than a compressed joblib file, and the CLI pays
    # for loading on every start
    tmp.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(directory / MODEL_FILE)
    for old in OLD_MODEL_FILES:
        (directory / old).unlink(missing_ok=True)
    (directory / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n", encoding="utf-8")
    return meta


def read_meta(directory: Path) -> ModelMeta:
    """The metadata of the saved model. Raises ModelError when there is none or it is unreadable."""
    path = directory / META_FILE
    if not path.is_file() or not (directory / MODEL_FILE).is_file():
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
    try:
        model = pickle.loads((directory / MODEL_FILE).read_bytes())
    except Exception as exc:  # a damaged pickle can raise almost anything
        raise ModelError(f"{directory / MODEL_FILE}: cannot load ({exc}): run `triagebot train`") from None
    if not isinstance(model, TrainedModel) or model.kb_digest != kb_digest:
        raise ModelError(f"{directory / MODEL_FILE} does not match its metadata: run `triagebot train`")
    return model, meta
