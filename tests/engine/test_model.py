"""The artefact shipped in the package: small, loadable with numpy alone, and actually used."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

from calmdesk.engine.model import default_model


def test_shipped_artefact_is_small_and_complete() -> None:
    models = resources.files("calmdesk.engine.models")
    npz = models.joinpath("assess_model.npz")
    metadata = json.loads(models.joinpath("assess_model.json").read_text("utf-8"))
    assert npz.is_file()
    assert len(npz.read_bytes()) < 5_000_000
    assert metadata["format"] == 1
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
