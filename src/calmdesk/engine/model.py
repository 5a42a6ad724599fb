"""The trained linear model: a fixed vocabulary, an int8 weight matrix and a few dense weights.

The artefact (`models/assess_model.npz` + `models/assess_model.json`) is written by
`calmdesk train` (see `calmdesk.engine.training`) and read here with numpy only. Scoring a
message is a dictionary lookup per feature and one gathered row sum.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from itertools import repeat
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from calmdesk.engine.text import DENSE_FEATURE_NAMES, analyse

ARTEFACT_NAME: Final = "assess_model"
FloatArray = npt.NDArray[np.float32]


class ModelFormatError(ValueError):
    """The artefact on disk is not one this version of calmdesk can read."""


@dataclass(frozen=True)
class LinearModel:  # not slotted: cached_property needs __dict__
    """Sigmoid heads (emotions, offensive language) and softmax groups (intents) on one matrix."""

    vocabulary: Mapping[str, int]
    weights: FloatArray  # (features, heads)
    dense_weights: FloatArray  # (dense features, heads)
    bias: FloatArray  # (heads,)
    heads: tuple[str, ...]
    sigmoid_heads: tuple[int, ...]
    softmax_groups: Mapping[str, tuple[int, ...]]
    metadata: Mapping[str, Any]

    @cached_property
    def _stacked(self) -> FloatArray:
        """Word rows, then dense-feature rows, then the bias row: one gather scores a message."""
        return np.ascontiguousarray(
            np.vstack([self.weights, self.dense_weights, self.bias[None, :]]), dtype=np.float32
        )

    @cached_property
    def _fixed_rows(self) -> list[int]:
        """The dense-feature rows and the bias row of `_stacked`, gathered for every message."""
        width = len(self.vocabulary)
        return list(range(width, width + len(DENSE_FEATURE_NAMES) + 1))

    def logits(self, text: str) -> FloatArray:
        sparse, dense = analyse(text)
        # Set intersection and map run in C; a Python-level filter was the hot spot here.
        # Sorted: the sum then runs in the same order in every process (hash seeds differ).
        # Unknown features look up as -1 and sort first, where they are cut off.
        ids = sorted(map(self.vocabulary.get, sparse, repeat(-1)))
        unknown = ids.count(-1)
        if unknown:
            del ids[:unknown]
        # Binary features, L2-normalised: the same scaling the trainer used.
        norm = 1.0 / math.sqrt(len(ids)) if ids else 0.0
        values = np.array([norm] * len(ids) + [*dense, 1.0], dtype=np.float32)
        result: FloatArray = values @ self._stacked.take(ids + self._fixed_rows, axis=0)
        return result

    def logits_many(self, texts: Sequence[str]) -> FloatArray:
        if not texts:
            return np.zeros((0, len(self.heads)), dtype=np.float32)
        analysed = [analyse(text) for text in texts]
        dense = np.asarray([row[1] for row in analysed], dtype=np.float32)
        out = dense @ self.dense_weights + self.bias
        all_ids: list[int] = []
        offsets: list[int] = []
        norms = np.ones(len(texts), dtype=np.float32)
        known = self.vocabulary.keys()
        lookup = self.vocabulary.__getitem__
        for row, (sparse, _dense) in enumerate(analysed):
            ids = sorted(map(lookup, known & sparse))
            offsets.append(len(all_ids))
            all_ids.extend(ids)
            if ids:
                norms[row] = 1.0 / math.sqrt(len(ids))
        if all_ids:
            gathered = self.weights[np.asarray(all_ids, dtype=np.intp)]
            starts = np.asarray(offsets, dtype=np.intp)
            has_ids = np.diff(np.append(starts, len(all_ids))) > 0
            sums = np.add.reduceat(gathered, starts[has_ids], axis=0)
            out[has_ids] += sums * norms[has_ids, None]
        return out

    def probabilities(self, logits: FloatArray) -> FloatArray:
        """Works on one row or a batch: sigmoid heads, then each softmax group."""
        probs = np.empty_like(logits)
        for cols in self._sigmoid_columns:
            probs[..., cols] = 1.0 / (1.0 + np.exp(-np.clip(logits[..., cols], -30.0, 30.0)))
        for cols in self._softmax_columns:
            shifted = logits[..., cols] - logits[..., cols].max(axis=-1, keepdims=True)
            exp = np.exp(shifted)
            probs[..., cols] = exp / exp.sum(axis=-1, keepdims=True)
        return probs

    @cached_property
    def _sigmoid_columns(self) -> list[slice | list[int]]:
        return [_as_slice(self.sigmoid_heads)]

    @cached_property
    def _softmax_columns(self) -> list[slice | list[int]]:
        return [_as_slice(members) for members in self.softmax_groups.values()]

    @cached_property
    def _softmax_plan(self) -> tuple[list[int], list[tuple[slice | None, tuple[int, ...]]]]:
        """Heads in no group and no sigmoid list (zero), and each group as a slice if contiguous."""
        covered = set(self.sigmoid_heads).union(*self.softmax_groups.values())
        unassigned = [i for i in range(len(self.heads)) if i not in covered]
        groups: list[tuple[slice | None, tuple[int, ...]]] = []
        for members in self.softmax_groups.values():
            columns = _as_slice(members)
            groups.append((columns if isinstance(columns, slice) else None, members))
        return unassigned, groups

    def predict(self, text: str) -> dict[str, float]:
        # For one row, plain Python math beats a dozen tiny numpy calls.
        row = self.logits(text)
        logits = row.tolist()
        # Every head starts as its sigmoid; the softmax groups then overwrite their members.
        # 1 / (1 + exp(-clip(row, -30, 30))) by the same ufuncs, in one scratch array.
        sigmoid = np.maximum(row, -30.0)
        np.minimum(sigmoid, 30.0, out=sigmoid)
        np.negative(sigmoid, out=sigmoid)
        np.exp(sigmoid, out=sigmoid)
        np.add(1.0, sigmoid, out=sigmoid)
        np.divide(1.0, sigmoid, out=sigmoid)
        probs = sigmoid.tolist()
        unassigned, groups = self._softmax_plan
        for i in unassigned:
            probs[i] = 0.0
        for columns, members in groups:
            group = logits[columns] if columns is not None else [logits[i] for i in members]
            top = max(group)
            exps = [math.exp(value - top) for value in group]
            total = sum(exps)
            if columns is not None:
                probs[columns] = [value / total for value in exps]
            else:
                for i, value in zip(members, exps, strict=True):
                    probs[i] = value / total
        return dict(zip(self.heads, probs, strict=True))

    def predict_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        probs = self.probabilities(self.logits_many(texts))
        return [dict(zip(self.heads, row, strict=True)) for row in probs.tolist()]


def _as_slice(columns: tuple[int, ...]) -> slice | list[int]:
    """Basic slicing is much cheaper than fancy indexing for the (usual) contiguous heads."""
    if columns and list(columns) == list(range(columns[0], columns[-1] + 1)):
        return slice(columns[0], columns[-1] + 1)
    return list(columns)


def load_model(directory: Path | None = None, name: str = ARTEFACT_NAME) -> LinearModel | None:
    """Read an artefact; None when it is absent (the engine then runs on rules alone)."""
    if directory is None:
        base = resources.files("calmdesk.engine.models")
        npz_file, json_file = base.joinpath(f"{name}.npz"), base.joinpath(f"{name}.json")
        if not (npz_file.is_file() and json_file.is_file()):
            return None
        with resources.as_file(npz_file) as npz_path, resources.as_file(json_file) as json_path:
            return _read(npz_path, json_path)
    npz_path, json_path = directory / f"{name}.npz", directory / f"{name}.json"
    if not (npz_path.is_file() and json_path.is_file()):
        return None
    return _read(npz_path, json_path)


def _read(npz_path: Path, json_path: Path) -> LinearModel:
    metadata = json.loads(json_path.read_text("utf-8"))
    if metadata.get("format") != 1:
        raise ModelFormatError(f"{json_path}: unknown artefact format {metadata.get('format')!r}")
    with np.load(npz_path, allow_pickle=False) as data:
        vocabulary_text = data["vocabulary"].tobytes().decode("utf-8")
        quantised = data["weights_int8"]
        scales = data["weight_scales"].astype(np.float32)
        dense_weights = data["dense_weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
    words = vocabulary_text.split("\n") if vocabulary_text else []
    if len(words) != quantised.shape[0]:
        raise ModelFormatError(f"{npz_path}: vocabulary and weight rows disagree")
    heads = tuple(metadata["heads"])
    index = {head: i for i, head in enumerate(heads)}
    groups = {
        group: tuple(index[label] for label in labels)
        for group, labels in metadata["softmax_groups"].items()
    }
    in_groups = {i for members in groups.values() for i in members}
    return LinearModel(
        vocabulary={word: i for i, word in enumerate(words)},
        weights=quantised.astype(np.float32) * scales,
        dense_weights=dense_weights,
        bias=bias,
        heads=heads,
        sigmoid_heads=tuple(i for i in range(len(heads)) if i not in in_groups),
        softmax_groups=groups,
        metadata=metadata,
    )


@cache
def default_model() -> LinearModel | None:
    """The artefact shipped in the package, loaded once per process."""
    return load_model()
