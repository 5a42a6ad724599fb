"""The artefact shipped in the package: small, loadable with numpy alone, and actually used."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

from calmdesk.engine.model import default_model
from calmdesk.engine.text import char_grams


def test_shipped_artefact_is_small_and_complete() -> None:
    models = resources.files("calmdesk.engine.models")
    npz = models.joinpath("assess_model.npz")
    metadata = json.loads(models.joinpath("assess_model.json").read_text("utf-8"))
    assert npz.is_file()
    assert len(npz.read_bytes()) < 5_000_000
    assert metadata["format"] == 2
    assert metadata["char_vocabulary_size"] > 0
    assert {"emo:anger", "goe:negative", "dav:offensive"} <= set(metadata["heads"])
    assert "intent:get_refund" in metadata["softmax_groups"]["intent"]


def test_model_reads_emotion_beyond_the_lexicons() -> None:
    model = default_model()
    assert model is not None
    # No lexicon rule names these feelings; only the trained heads can.
    plain = model.predict("the parcel is blue")
    assert (
        model.predict("I love it, what a wonderful surprise")["emo:love"] > plain["emo:love"] + 0.3
    )
    sad = model.predict("my dog died yesterday and I miss him terribly")
    assert sad["emo:sadness"] > plain["emo:sadness"] + 0.3
    refund = model.predict("could I get a rebate of the money I paid")
    assert refund["intent:get_refund"] + refund["intent:track_refund"] > 0.3


def test_engine_runs_without_sklearn_or_scipy() -> None:
    code = (
        "import sys, calmdesk.engine as e\n"
        "e.assess('refund me now')\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'torch')]\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_char_grams_are_the_padded_3_to_5_grams_of_one_word() -> None:
    grams = char_grams("cat")
    assert set(grams) == {" ca", "cat", "at ", " cat", "cat ", " cat "}
    assert len(grams) == len(set(grams))
    assert char_grams("a") == []
    assert char_grams("x" * 21) == []
    assert len(char_grams("x" * 20)) == 20 + 19 + 18


def test_batched_and_single_scoring_agree_with_character_features() -> None:
    model = default_model()
    assert model is not None
    texts = [
        "I am sooo furios, your servise is a disgrace!!!",
        "thank you, really apreciate the quick help",
        "",
        "why was I charged twice?? I dont understand",
    ]
    # More messages than one scoring slice, with empty ones at slice edges.
    texts = [f"{text} {i}" if text else "" for i in range(50) for text in texts]
    batched = model.predict_many(texts)
    for text, row in zip(texts, batched, strict=True):
        single = model.predict(text)
        for head, value in single.items():
            assert abs(value - row[head]) < 1e-5, (text, head)


def test_misspelt_words_reach_the_heads_through_character_grams() -> None:
    model = default_model()
    assert model is not None
    assert model.char_vocabulary
    # Not a known word, but its pieces are known.
    assert "apreciatted" not in model.vocabulary
    word_ids, char_ids, _dense = model.features("apreciatted")
    assert word_ids == []
    assert len(char_ids) > 0
    assert all(i >= len(model.vocabulary) for i in char_ids.tolist())
    plain = model.predict("the parcel is blue")
    assert model.predict("apreciatted")["emo:gratitude"] > plain["emo:gratitude"]


def test_bigram_rows_are_the_vocabulary_rows_of_the_joined_pair() -> None:
    import numpy as np

    model = default_model()
    assert model is not None
    bigrams = {key: row for key, row in model.vocabulary.items() if " " in key}
    assert len(model._bigram_rows) == len(bigrams)
    for (first, second), row in model._bigram_rows.items():
        assert int(np.frombuffer(row, dtype=np.intp)[0]) == bigrams[f"{first} {second}"]
