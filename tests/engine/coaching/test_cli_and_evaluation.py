from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from calmdesk.cli import main
from calmdesk.engine.coaching.evaluation import evaluate, report

NOW = "2026-11-23T09:30:00"
# The `calmdesk` command, run in a child process so its stdin and argv can carry raw bytes.
CALMDESK = [sys.executable, "-c", "import sys; from calmdesk.cli import main; sys.exit(main())"]


def test_jsonl_one_object_per_input_line_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "drafts.txt"
    source.write_text(
        "Calm down.\n"
        "\n"
        '{"draft": "I\'ll call you tomorrow at 10am.", "customer": "Nobody called me back!"}\n'
        "Thanks for your patience, I guess.\n",
        encoding="utf-8",
    )
    assert main(["coach", "--input", str(source), "--format", "jsonl", "--now", NOW]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    objects = [json.loads(line) for line in lines]
    for item in objects:
        assert {"score", "findings", "techniques", "promises"} <= set(item)
        assert set(item["techniques"]) == {
            "apology", "empathy", "paraphrase", "question", "ownership", "next_step", "thanks"
        }  # fmt: skip
    assert objects[0]["findings"][0]["rule"] == "dismissing_emotion"
    assert objects[0]["findings"][0]["span"] == [0, 9]
    assert objects[1]["findings"] == []
    assert objects[2]["promises"][0]["due"] == "2026-11-24T10:00:00+00:00"
    assert "sarcasm" in {finding["rule"] for finding in objects[3]["findings"]}


def test_json_with_customer_option(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["coach", "So the parcel never arrived at your flat?", "--customer",
         "My parcel never arrived at my flat.", "--format", "json"]
    )  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["techniques"]["paraphrase"] >= 0.8


def test_bad_time_zone_and_missing_file_are_clear_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["coach", "hi", "--timezone", "Nowhere/Land"]) == 2
    assert "time zone" in capsys.readouterr().err
    assert main(["coach", "--input", "/nonexistent/drafts.txt"]) == 2
    error = capsys.readouterr().err
    assert "calmdesk coach: cannot read /nonexistent/drafts.txt: No such file" in error
    assert "Errno" not in error


def test_invalid_utf8_never_crashes() -> None:
    command = [*CALMDESK, "coach", "--input", "-", "--format", "jsonl"]
    result = subprocess.run(
        command,
        input=b"You need to \xff\xfe pay.\n\xc3\x28 sorry\n",
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["findings"][0]["rule"] == "command"
    argument = subprocess.run(
        [
            *CALMDESK,
            "coach",
            b"Calm down \xff".decode("utf-8", "surrogateescape"),
        ],
        capture_output=True,
        check=False,
    )
    assert argument.returncode == 0, argument.stderr
    assert b"dismissing_emotion" in argument.stdout


def test_text_format_shows_the_draft_unmarked_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coach", "[bold]Calm down[/bold], you idiot."]) == 0
    out = capsys.readouterr().out
    assert "[bold]Calm down[/bold]" in out  # customer/agent text is never read as markup
    assert "insult" in out and "try:" in out


def test_evaluation_matches_rule_and_overlapping_span(tmp_path: Path) -> None:
    rows = [
        {"id": "r1", "customer": "Where is my parcel?!", "draft": "Calm down. I'll check it today.",
         "findings": [{"rule": "dismissing_emotion", "text": "Calm down."},
                      {"rule": "arguing", "text": "I'll check it today."}],
         "techniques": {"apology": 0, "empathy": 0, "paraphrase": 0, "question": 0,
                        "ownership": 1, "next_step": 1, "thanks": 0},
         "blocking": False},
        {"id": "r2", "customer": "hello", "draft": "You idiot.", "findings": [],
         "techniques": {}, "blocking": True},
    ]  # fmt: skip
    path = tmp_path / "replies.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\nnot json\n", encoding="utf-8")
    result = evaluate(path)
    assert result is not None
    assert result.replies == 2
    dismissing = result.rules["dismissing_emotion"]
    assert (dismissing.predicted, dismissing.predicted_matched, dismissing.labelled) == (1, 1, 1)
    assert dismissing.precision == 1.0 and dismissing.recall == 1.0
    arguing = result.rules["arguing"]
    assert arguing.labelled == 1 and arguing.labelled_matched == 0 and arguing.recall == 0.0
    insult = result.rules["insult"]
    assert insult.predicted == 1 and insult.precision == 0.0
    assert result.blocking.recall == 1.0
    assert result.techniques["ownership"].recall == 1.0
    assert result.problems == ("line 3: not a reply record",)
    console = Console(record=True, width=140)
    report(console, path)
    text = console.export_text()
    assert "dismissing_emotion" in text and "precision" in text


def test_packaged_dev_set_report_runs_when_present() -> None:
    console = Console(record=True, width=140)
    result = report(console)
    if result is None:
        assert "no development set" in console.export_text()
    else:
        assert result.replies >= 300


@pytest.mark.parametrize(
    ("name", "minimum_rows", "minimum_clean", "title"),
    [
        ("coach_replies_holdout.jsonl", 120, 30, "held-out set"),
        ("coach_replies_third.jsonl", 150, 40, "third set"),
        ("coach_replies_fourth.jsonl", 200, 60, "fourth set"),
        ("coach_replies_fifth.jsonl", 200, 60, "fifth set"),
        ("coach_replies_sixth.jsonl", 200, 60, "sixth set"),
        ("coach_replies_blind4.jsonl", 220, 60, "fourth blind set"),
        ("coach_replies_blind5.jsonl", 220, 60, "fifth blind set"),
        ("coach_replies_blind6.jsonl", 220, 60, "sixth blind set"),
        ("coach_replies_blind7.jsonl", 220, 60, "seventh blind set"),
        ("coach_replies_blind8.jsonl", 220, 60, "eighth blind set"),
        # Written for the tone model's training: checked, not reported.
        ("coach_replies_train1.jsonl", 220, 60, None),
        ("coach_replies_train2.jsonl", 220, 60, None),
        ("coach_replies_train3.jsonl", 220, 60, None),
    ],
)
def test_packaged_extra_sets_are_well_formed_and_reported(
    name: str, minimum_rows: int, minimum_clean: int, title: str | None
) -> None:
    from calmdesk.engine.coaching.evaluation import packaged_set
    from calmdesk.engine.coaching.types import AVOID_RULES, BLOCKING_RULES, GOOD_RULES

    path = packaged_set(name)
    assert path is not None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= minimum_rows
    technique_of = {"clarifying_question": "question"}
    for row in rows:
        rules = {finding["rule"] for finding in row["findings"]}
        assert rules <= set(AVOID_RULES) | set(GOOD_RULES), row["id"]
        for finding in row["findings"]:
            assert row["draft"].count(finding["text"]) == 1, (row["id"], finding)
        said = {technique_of.get(rule, rule) for rule in rules & set(GOOD_RULES)}
        assert said == {key for key, value in row["techniques"].items() if value}, row["id"]
        assert row["blocking"] == bool(rules & BLOCKING_RULES), row["id"]
    # Good replies that must not be flagged are part of the set, not only bad ones.
    assert (
        sum(1 for row in rows if not {f["rule"] for f in row["findings"]} & set(AVOID_RULES))
        >= minimum_clean
    )
    if title is not None:
        console = Console(record=True, width=160)
        report(console)
        assert title in console.export_text()
