"""The trained linear model: a fixed vocabulary, an int8 weight matrix and a few dense weights.

The artefact (`models/assess_model.npz` + `models/assess_model.json`) is written by
`calmdesk train` (see `calmdesk.engine.training`) and read here with numpy only. Scoring a
message is a dictionary lookup per feature and one gathered row sum. Character n-grams are
looked up once per distinct word and remembered, so a message costs one dictionary lookup per
word for them.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import pairwise, repeat
from operator import sub, truediv
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from calmdesk.engine.artefacts import read_artefact
from calmdesk.engine.text import STEM_FROM, analyse_tokens, char_grams, stem, tokens_and_dense

ARTEFACT_NAME: Final = "assess_model"
FORMATS: Final = (1, 2)  # 2 adds the character n-gram vocabulary
# Distinct words whose character n-gram ids are remembered; past this the memo starts over,
# so a stream of never-seen words cannot grow memory without bound.
CHAR_MEMO_WORDS: Final = 100_000
BATCH_SLICE: Final = 64  # messages whose gathered weight rows are summed at once
FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]
_FIRST: Final = np.ones(1, dtype=np.bool_)
_MINUS_30: Final = np.float32(-30.0)
_PLUS_30: Final = np.float32(30.0)
_ONE: Final = np.float32(1.0)
_ROW_SIZE: Final = np.dtype(np.intp).itemsize
# The `array` type code whose items are `np.intp`s, so that its bytes read back as rows.
_ROW_CODE: Final = next(code for code in "lqi" if array(code).itemsize == _ROW_SIZE)


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
    # Character n-gram -> weight row (after the word rows); empty for a format 1 artefact.
    char_vocabulary: Mapping[str, int] = field(default_factory=dict)
    # `weights`, `dense_weights` and `bias` stacked in one array, when the reader built them
    # as views of it: the weight matrix then exists once in memory, not twice.
    stacked: FloatArray | None = None

    @cached_property
    def _token_memo(self) -> dict[str, bytes]:
        return {}

    @cached_property
    def _first_char_row(self) -> int | None:
        """Every word row lies below it and every character row at or above it, as `_read`
        lays them out; None if the blocks interleave (then each is gathered on its own)."""
        last_word = max(self.vocabulary.values(), default=-1)
        first_char = min(self.char_vocabulary.values(), default=last_word + 1)
        return first_char if last_word < first_char else None

    def _token_rows(self, word: str) -> bytes:
        """The rows one token brings whatever its neighbours: itself, its stem, its n-grams,
        as the bytes of `np.intp`s."""
        lookup = self.char_vocabulary.get
        found = {i for gram in char_grams(word) if (i := lookup(gram)) is not None}
        vocabulary = self.vocabulary
        if (i := vocabulary.get(word)) is not None:
            found.add(i)
        if len(word) > STEM_FROM and (i := vocabulary.get(stem(word))) is not None:
            found.add(i)
        return array(_ROW_CODE, found).tobytes()

    def _rows(self, words: list[str], tail: bytes = b"") -> tuple[IntArray, int]:
        """The message's feature rows, sorted and each once, then `tail` (rows above every
        feature row); and how many of the feature rows are word rows (they sort first).

        One memo lookup per distinct token gives its word, stem and character n-gram rows
        together, as bytes; only the bigrams are looked up per message. One `bytes.join`
        lays them end to end (numpy's `concatenate` cost about half a microsecond per token
        array), and sorting them in numpy costs about half what a set of Python ints did.
        """
        # Sorted (a copy: the buffer is read-only), so that the sums run in the same order
        # in every process (string hash seeds differ, and with them the order sets iterate).
        # (The copy sorted in place: `np.sort` is a Python-level wrapper around the same.)
        rows = np.frombuffer(self._token_bytes(words) + tail, dtype=np.intp).copy()
        rows.sort()
        if len(rows) > 1:
            # Each row once: a token's rows are distinct, but two tokens may share n-grams.
            repeated = rows[1:] == rows[:-1]
            # Any True, tested on the bytes: `ndarray.any` goes through a Python-level wrapper.
            if b"\x01" in repeated.tobytes():
                rows = rows[np.concatenate((_FIRST, ~repeated))]
        word_rows = int(rows.searchsorted(self._first_char_row or 0))
        return rows, word_rows

    def features(self, text: str) -> tuple[list[int], IntArray, tuple[float, ...]]:
        """Sorted word-feature rows, sorted character n-gram rows, and the dense cues."""
        if self._first_char_row is None:
            return self._features_apart(text)
        words, dense = tokens_and_dense(text)
        rows, word_rows = self._rows(words)
        return rows[:word_rows].tolist(), rows[word_rows:], dense

    def _feature_rows(self, text: str) -> tuple[IntArray, int, tuple[float, ...]]:
        """The feature rows (word rows first), how many are word rows, and the dense cues."""
        if self._first_char_row is None:
            ids, char_ids, dense = self._features_apart(text)
            return np.concatenate((np.asarray(ids, dtype=np.intp), char_ids)), len(ids), dense
        words, dense = tokens_and_dense(text)
        rows, word_rows = self._rows(words)
        return rows, word_rows, dense

    def _features_apart(self, text: str) -> tuple[list[int], IntArray, tuple[float, ...]]:
        """`features` for a model whose word and character rows interleave."""
        found, words, dense = analyse_tokens(text)
        ids = sorted(map(self.vocabulary.__getitem__, self.vocabulary.keys() & found))
        lookup = self.char_vocabulary.get
        grams = {i for word in set(words) for g in char_grams(word) if (i := lookup(g)) is not None}
        char_ids = np.fromiter(grams, dtype=np.intp, count=len(grams))
        char_ids.sort()
        return ids, char_ids, dense

    @cached_property
    def _stacked(self) -> FloatArray:
        """Word rows, then dense-feature rows, then the bias row: one gather scores a message."""
        if self.stacked is not None:
            return self.stacked
        return np.ascontiguousarray(
            np.vstack([self.weights, self.dense_weights, self.bias[None, :]]), dtype=np.float32
        )

    @cached_property
    def _tail_rows(self) -> bytes:
        """The dense-feature rows and the bias row of `_stacked`, as `np.intp` bytes."""
        width = self.weights.shape[0]
        return np.arange(width, width + self.dense_weights.shape[0] + 1, dtype=np.intp).tobytes()

    def logits(self, text: str) -> FloatArray:
        if self._first_char_row is None:
            ids, char_ids, dense = self._features_apart(text)
            tail = np.frombuffer(self._tail_rows, dtype=np.intp)
            rows = np.concatenate((np.asarray(ids, dtype=np.intp), char_ids, tail))
            count, words = len(ids) + len(char_ids), len(ids)
        else:
            tokens, dense = tokens_and_dense(text)
            rows, words = self._rows(tokens, self._tail_rows)
            count = len(rows) - len(self._tail_rows) // _ROW_SIZE
        # Binary features, each block (words, character n-grams) L2-normalised on its own:
        # the same scaling the trainer used. Built in numpy: a few hundred character rows
        # made Python lists the slow part.
        values = np.empty(len(rows), dtype=np.float32)
        values[:words] = _norm(words)
        values[words:count] = _norm(count - words)
        values[count:] = (*dense, 1.0)  # the dense cues, then the bias row's weight
        result: FloatArray = values @ self._stacked.take(rows, axis=0)
        return result

    def logits_many(self, texts: Sequence[str]) -> FloatArray:
        if not texts:
            return np.zeros((0, len(self.heads)), dtype=np.float32)
        if self._first_char_row is None:
            return self._logits_many_apart(texts)
        # Python reads each message's tokens and looks up each distinct one in the memo;
        # everything after that (joining, sorting and de-duplicating the rows, the sums)
        # runs once for the whole batch, not as a dozen small numpy calls per message.
        parts: list[bytes] = []
        dense: list[tuple[float, ...]] = []
        for text in texts:
            words, cues = tokens_and_dense(text)
            dense.append(cues)
            parts.append(self._token_bytes(words))
        out = np.asarray(dense, dtype=np.float32) @ self.dense_weights
        out += self.bias
        if any(parts):
            self._add_sparse(out, parts)
        return out

    def _token_bytes(self, words: list[str]) -> bytes:
        """The rows of a message's distinct tokens and of its known bigrams, as the bytes
        of `np.intp`s (a row may occur more than once)."""
        memo = self._token_memo
        distinct = set(words)
        missing = distinct.difference(memo)  # the dict itself: a keys view would be scanned whole
        if missing:
            if len(memo) + len(missing) > CHAR_MEMO_WORDS:
                memo.clear()
                missing = distinct
            token_rows = self._token_rows
            memo.update({word: token_rows(word) for word in missing})
        parts = list(map(memo.__getitem__, distinct))
        if len(words) > 1:
            # The rows of the known bigrams, in one C-level pass (a bigram seen twice gives
            # its row twice, as two tokens sharing an n-gram do: the caller drops repeats).
            parts.extend(filter(None, map(self._bigram_rows.get, pairwise(words))))
        return b"".join(parts)

    @cached_property
    def _bigram_rows(self) -> dict[tuple[str, str], bytes]:
        """Each bigram feature's row, as the bytes of one `np.intp`, by its two words.

        A message's word pairs are looked up as `pairwise` gives them, without joining each
        into a new string and hashing that (a pair's hash combines its words' hashes, which
        their strings keep), and the rows come as bytes, ready to join. A bigram key is two
        tokens joined by one space, and tokens hold no spaces, so these are exactly the rows
        that looking up `" ".join(pair)` in the vocabulary finds. (Callgrind, benchmark
        messages: `_token_bytes` from about 107,000 instructions a message to 77,000.)
        """
        rows: dict[tuple[str, str], bytes] = {}
        # One string per distinct word, shared by the pairs it is in (a word opens or
        # closes many bigrams): about 6 MB less than a new pair of strings per bigram.
        words: dict[str, str] = {}
        for key, row in self.vocabulary.items():
            first, space, second = key.partition(" ")
            if space:
                pair = (words.setdefault(first, first), words.setdefault(second, second))
                rows[pair] = array(_ROW_CODE, (row,)).tobytes()
        return rows

    def _add_sparse(self, out: FloatArray, parts: list[bytes]) -> None:
        """Add each message's binary, block-normalised feature rows to its row of `out`.

        Every row is keyed by (message, row) in one integer, so one sort orders the whole
        batch by message, word rows before character rows, and one comparison drops the
        repeats: each message's features stay binary, as one by one.
        """
        count = len(parts)
        first_char = self._first_char_row or 0
        shift = max(int(self.weights.shape[0]).bit_length(), 1)
        # 32-bit keys when they fit (batches of up to ~16,000 messages): they sort twice
        # as many to a vector register.
        key_type: type[np.signedinteger[Any]] = (
            np.int32 if (count + 1) << shift < 2**31 else np.int64
        )
        rows = np.frombuffer(b"".join(parts), dtype=np.intp).astype(key_type)
        lengths = np.fromiter(map(len, parts), np.intp, count) // _ROW_SIZE
        owner = np.repeat(np.arange(count, dtype=key_type), lengths)
        keys = (owner << shift) | rows
        keys.sort()
        if len(keys) > 1:
            fresh = np.empty(len(keys), dtype=np.bool_)
            fresh[0] = True
            np.not_equal(keys[1:], keys[:-1], out=fresh[1:])
            keys = keys[fresh]
        bases = np.arange(count + 1, dtype=key_type) << shift
        starts = keys.searchsorted(bases)
        chars = keys.searchsorted(bases[:-1] | first_char)
        word_count = chars - starts[:-1]
        char_count = starts[1:] - chars
        with np.errstate(divide="ignore"):
            word_scale = np.where(word_count > 0, 1.0 / np.sqrt(word_count), 0.0)
            char_scale = np.where(char_count > 0, 1.0 / np.sqrt(char_count), 0.0)
        rows = keys & ((1 << shift) - 1)
        owner = keys >> shift
        scale = np.where(rows < first_char, word_scale.take(owner), char_scale.take(owner)).astype(
            np.float32
        )
        weights = self.weights
        bounds = starts.tolist()
        # One gather per slice of messages (bounding the rows held at once), then one
        # vector-matrix product per message: numpy's reductions along the rows of a
        # gathered block walk it column by column and cost several times more.
        for first in range(0, count, BATCH_SLICE):
            last = min(first + BATCH_SLICE, count)
            low, high = bounds[first], bounds[last]
            if low == high:
                continue
            gathered = weights.take(rows[low:high], axis=0)
            values = scale[low:high]
            for i in range(first, last):
                a, b = bounds[i] - low, bounds[i + 1] - low
                if a != b:
                    out[i] += values[a:b] @ gathered[a:b]

    def _logits_many_apart(self, texts: Sequence[str]) -> FloatArray:
        """`logits_many` for a model whose word and character rows interleave."""
        analysed = [self._feature_rows(text) for text in texts]
        dense = np.asarray([row[2] for row in analysed], dtype=np.float32)
        out = dense @ self.dense_weights + self.bias
        for first in range(0, len(analysed), BATCH_SLICE):
            part = analysed[first : first + BATCH_SLICE]
            blocks: list[IntArray] = []
            offsets: list[int] = []
            total = 0
            for rows, _words, _dense in part:
                offsets.append(total)
                blocks.append(rows)
                total += len(rows)
            if not total:
                continue
            gathered = self.weights[np.concatenate(blocks)]
            for (rows, words, _dense), offset in zip(part, offsets, strict=True):
                if words:
                    gathered[offset : offset + words] *= np.float32(_norm(words))
                if len(rows) > words:
                    gathered[offset + words : offset + len(rows)] *= np.float32(
                        _norm(len(rows) - words)
                    )
            starts = np.asarray(offsets, dtype=np.intp)
            has_ids = np.diff(np.append(starts, total)) > 0
            rows = np.flatnonzero(has_ids) + first
            out[rows] += np.add.reduceat(gathered, starts[has_ids], axis=0)
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
        # The constants as float32 scalars: the same float32 arithmetic (a Python float is
        # cast to the array's float32 anyway), without converting each on every call.
        sigmoid = np.maximum(row, _MINUS_30)
        np.minimum(sigmoid, _PLUS_30, out=sigmoid)
        np.negative(sigmoid, out=sigmoid)
        np.exp(sigmoid, out=sigmoid)
        np.add(_ONE, sigmoid, out=sigmoid)
        np.divide(_ONE, sigmoid, out=sigmoid)
        probs = sigmoid.tolist()
        unassigned, groups = self._softmax_plan
        for i in unassigned:
            probs[i] = 0.0
        for columns, members in groups:
            group = logits[columns] if columns is not None else [logits[i] for i in members]
            top = max(group)
            exps = list(map(math.exp, map(sub, group, repeat(top))))
            total = sum(exps)
            if columns is not None:
                probs[columns] = map(truediv, exps, repeat(total))
            else:
                for i, value in zip(members, exps, strict=True):
                    probs[i] = value / total
        result = self._head_template.copy()
        result.update(zip(self.heads, probs, strict=True))
        return result

    def predict_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        probs = self.probabilities(self.logits_many(texts))
        template, heads = self._head_template, self.heads
        results = []
        for row in probs.tolist():
            result = template.copy()
            result.update(zip(heads, row, strict=True))
            results.append(result)
        return results

    @cached_property
    def _head_template(self) -> dict[str, float]:
        """A dict with every head as a key, for `predict` to copy and fill: `dict(zip(...))`
        grows the new dict step by step (five resizes for 60 heads); a copy of one of the
        right size is one block copy, and the update then only replaces values."""
        return dict.fromkeys(self.heads, 0.0)


def _norm(count: int) -> float:
    return 1.0 / math.sqrt(count) if count else 0.0


def _as_slice(columns: tuple[int, ...]) -> slice | list[int]:
    """Basic slicing is much cheaper than fancy indexing for the (usual) contiguous heads."""
    if columns and list(columns) == list(range(columns[0], columns[-1] + 1)):
        return slice(columns[0], columns[-1] + 1)
    return list(columns)


def load_model(directory: Path | None = None, name: str = ARTEFACT_NAME) -> LinearModel | None:
    """Read an artefact; None when it is absent (the engine then runs on rules alone)."""
    return read_artefact(name, _read, directory)


def _read(npz_path: Path, json_path: Path) -> LinearModel:
    metadata = json.loads(json_path.read_text("utf-8"))
    if metadata.get("format") not in FORMATS:
        raise ModelFormatError(f"{json_path}: unknown artefact format {metadata.get('format')!r}")
    with np.load(npz_path, allow_pickle=False) as data:
        vocabulary_text = data["vocabulary"].tobytes().decode("utf-8")
        char_text = (
            data["char_vocabulary"].tobytes().decode("utf-8")
            if "char_vocabulary" in data.files
            else ""
        )
        quantised = data["weights_int8"]
        scales = data["weight_scales"].astype(np.float32)
        dense_weights = data["dense_weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
    words = vocabulary_text.split("\n") if vocabulary_text else []
    # Character n-grams come from single tokens, which hold no whitespace: one a line, as words.
    grams = char_text.split("\n") if char_text else []
    if len(words) + len(grams) != quantised.shape[0]:
        raise ModelFormatError(f"{npz_path}: vocabulary and weight rows disagree")
    heads = tuple(metadata["heads"])
    index = {head: i for i, head in enumerate(heads)}
    groups = {
        group: tuple(index[label] for label in labels)
        for group, labels in metadata["softmax_groups"].items()
    }
    in_groups = {i for members in groups.values() for i in members}
    rows, dense_rows = quantised.shape[0], dense_weights.shape[0]
    stacked = np.empty((rows + dense_rows + 1, len(heads)), dtype=np.float32)
    np.multiply(quantised, scales, out=stacked[:rows])
    stacked[rows : rows + dense_rows] = dense_weights
    stacked[-1] = bias
    return LinearModel(
        vocabulary={word: i for i, word in enumerate(words)},
        char_vocabulary={gram: len(words) + i for i, gram in enumerate(grams)},
        weights=stacked[:rows],
        dense_weights=stacked[rows : rows + dense_rows],
        bias=stacked[-1],
        stacked=stacked,
        heads=heads,
        sigmoid_heads=tuple(i for i in range(len(heads)) if i not in in_groups),
        softmax_groups=groups,
        metadata=metadata,
    )


@cache
def default_model() -> LinearModel | None:
    """The artefact shipped in the package, loaded once per process."""
    return load_model()
