"""`calmdesk practice`: listing, scripted JSON runs, errors, and the interactive terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from calmdesk.cli import main
from calmdesk.training import RUBRIC_ITEMS, load_scenarios

SCRIPTS = Path(__file__).parent / "scripts"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def test_list_shows_every_scenario_with_persona_and_problem(capsys):
    assert main(["practice", "--list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["id"] for item in listed] == [s.id for s in load_scenarios()]
    assert all(item["persona"] and item["problem"] for item in listed)
    assert main(["practice", "--list"]) == 0
    text = capsys.readouterr().out
    assert "refund-kettle" in text and "demanding" in text and "refund_refused" in text


def test_script_run_prints_transcript_states_outcome_and_rubric(capsys):
    script = SCRIPTS / "refund-kettle.good.txt"
    code = main(
        ["practice", "refund-kettle", "--script", str(script), "--seed", "4", "--format", "json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "satisfied"
    assert data["seed"] == 4
    lines = [line for line in script.read_text().splitlines() if line.strip()]
    assert [item["text"] for item in data["transcript"] if item["role"] == "trainee"] == lines
    assert len(data["turns"]) == len(lines)
    assert all(set(turn["state"]) == {"anger", "trust", "patience"} for turn in data["turns"])
    assert set(data["report"]["scores"]) == set(RUBRIC_ITEMS)
    assert 80 <= data["report"]["overall"] <= 100


def test_script_from_stdin_and_text_format(capsys, monkeypatch):
    import io

    bad = (SCRIPTS / "refund-kettle.bad.txt").read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(bad))
    assert main(["practice", "refund-kettle", "--script", "-"]) == 0
    out = capsys.readouterr().out
    assert "Outcome: escalated" in out
    assert "overall" in out
    assert "Worst moment" in out


def test_script_runs_are_reproducible(capsys):
    args = ["practice", "late-sofa", "--script", str(SCRIPTS / "late-sofa.bad.txt")]
    main([*args, "--seed", "9", "--format", "json"])
    first = capsys.readouterr().out
    main([*args, "--seed", "9", "--format", "json"])
    assert capsys.readouterr().out == first


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["practice", "nope", "--script", "x.txt"], "no scenario 'nope'"),
        (["practice", "refund-kettle", "--script", "/nonexistent/file.txt"], "cannot read"),
        (["practice", "--script", "x.txt"], "needs a SCENARIO"),
    ],
)
def test_bad_arguments_get_a_clear_error(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_an_overlong_scripted_reply_is_reported_not_raised(capsys, tmp_path):
    script = tmp_path / "long.txt"
    script.write_text("word " * 2000)
    assert main(["practice", "refund-kettle", "--script", str(script)]) == 2
    assert "keep it under" in capsys.readouterr().err


def test_a_broken_scenario_directory_is_reported(capsys, tmp_path):
    (tmp_path / "bad.toml").write_text('id = "x"\n')
    assert main(["practice", "--list", "--scenarios", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "invalid scenario" in err and "title must be a non-empty string" in err


class Terminal:
    """A `calmdesk practice` process on a pseudo-terminal, driven like a person would."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        env.pop("NO_COLOR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "calmdesk", "practice", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.output = ""

    def read_until(self, marker: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while marker not in ANSI.sub("", self.output):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {marker!r} in:\n{ANSI.sub('', self.output)}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    if marker not in ANSI.sub("", self.output):
                        raise AssertionError(
                            f"ended without {marker!r}:\n{ANSI.sub('', self.output)}"
                        )
                    break
                self.output += chunk.decode("utf-8", errors="replace")
        return ANSI.sub("", self.output)

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> int:
        try:
            code = self.process.wait(timeout=30)
        finally:
            os.close(self.master)
        return code


def test_interactive_session_in_a_terminal_shows_feedback_and_the_report():
    terminal = Terminal("refund-kettle", "--seed", "2")
    try:
        screen = terminal.read_until("You: ")
        assert "I was told NO refund on my kettle" in screen
        script = (SCRIPTS / "refund-kettle.good.txt").read_text().splitlines()
        lines = [line for line in script if line]
        terminal.type(lines[0])
        screen = terminal.read_until("You named how they feel.")
        assert "anger" in screen and "trust" in screen
        terminal.type("   ")  # an empty reply is refused, not fatal
        terminal.read_until("the reply is empty")
        for line in lines[1:]:
            terminal.type(line)
        terminal.read_until("Outcome: satisfied")
        screen = terminal.read_until("Best moment")
    finally:
        code = terminal.close()
    assert code == 0
    report = screen.split("Report", 1)[1]
    for item in (
        "composure",
        "vent",
        "acknowledgement",
        "paraphrase",
        "resolution",
        "follow up",
        "boundaries",
    ):
        assert item in report
    assert "Best moment" in report


def test_interactive_quit_and_scenario_menu():
    terminal = Terminal("--seed", "1")
    try:
        terminal.read_until("Scenario number or id")
        terminal.type("99")
        terminal.read_until("No such scenario")
        terminal.type("late-cot-indecisive")
        terminal.read_until("You: ")
        terminal.type("/hint")
        terminal.read_until("Hint: ")
        terminal.type("Calm down, there's no need for that.")
        terminal.read_until("Telling someone to calm down")
        terminal.type("/quit")
        terminal.read_until("Outcome: unfinished")
        screen = terminal.read_until("Worst moment")
    finally:
        code = terminal.close()
    assert code == 0
    assert "Worst moment" in screen


def test_draft_from_a_conversation_file(capsys, tmp_path):
    conversation = tmp_path / "conversation.json"
    conversation.write_text(
        json.dumps(
            [
                {
                    "role": "customer",
                    "text": "Dear team, I'm Ruth Beck, ruth@beck.example. "
                    "Where is parcel PK-99812? It is two weeks late!",
                },
                {"role": "agent", "text": "Hi Ruth, sorry, I'll check PK-99812."},
            ]
        )
    )
    assert main(["practice", "--draft-from", str(conversation), "--id", "late-parcel"]) == 0
    out = capsys.readouterr().out
    assert 'id = "late-parcel"' in out
    assert "Ruth" not in out and "PK-99812" not in out and "ruth@beck.example" not in out
    conversation.write_text("[1, 2]")
    assert main(["practice", "--draft-from", str(conversation)]) == 2
    assert 'needs a "text" string' in capsys.readouterr().err
    conversation.write_text("{not json")
    assert main(["practice", "--draft-from", str(conversation)]) == 2
    assert "Expecting property name" in capsys.readouterr().err


def test_llm_endpoint_failure_is_reported_and_the_run_still_completes(capsys):
    script = SCRIPTS / "refund-kettle.good.txt"
    # Port 9 (discard) on localhost refuses connections: the voice must fall back.
    argv = ["practice", "refund-kettle", "--script", str(script), "--format", "json"]
    assert main([*argv, "--llm-url", "http://127.0.0.1:9/v1"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["outcome"] == "satisfied"
    assert "the chat endpoint failed 3 time(s)" in captured.err
