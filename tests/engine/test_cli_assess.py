"""`calmdesk assess` as scripts use it: jsonl in order, CSV columns, bad bytes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from calmdesk.engine import SCORE_KEYS

RUN = "import sys; from calmdesk.cli import main; sys.exit(main())"


def calmdesk(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", RUN, *args], input=stdin, capture_output=True, check=False
    )


def test_jsonl_one_object_per_line_in_order_with_empty_and_invalid_lines() -> None:
    lines = [
        b"You idiots, refund me now!",
        b"",
        b"caf\xe9 \xff\xfe broken bytes, still waiting for my parcel",
        b"Thanks, that fixed it.",
        b"form\x0cfeed and \xe2\x80\xa8 line separator stay in one message",
    ]
    run = calmdesk("assess", "--input", "-", "--format", "jsonl", stdin=b"\n".join(lines) + b"\n")
    assert run.returncode == 0, run.stderr
    objects = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
    assert len(objects) == len(lines)
    for item in objects:
        assert set(item) >= {"scores", "emotions", "intensity", "flags", "customer_type", "topic"}
        assert set(item["scores"]) == set(SCORE_KEYS)
    assert objects[0]["scores"]["abuse"] >= 0.5
    assert objects[0]["scores"]["refund"] >= 0.5
    assert all(value == 0 for value in objects[1]["scores"].values())
    assert objects[3]["scores"]["gratitude"] >= 0.5


def test_csv_gets_score_columns(tmp_path: Path) -> None:
    source = tmp_path / "tickets.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "channel"])
        writer.writerow(["1", "I'm going to sue you, see you in court", "email"])
        writer.writerow(["2", "Hello,\nwhere is my order?", "chat"])
        writer.writerow(["3", "", "chat"])
    run = calmdesk("assess", "--input", str(source), "--column", "body")
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout.decode("utf-8"))))
    assert [row["id"] for row in rows] == ["1", "2", "3"]
    assert rows[1]["body"] == "Hello,\nwhere is my order?"
    assert float(rows[0]["calmdesk_legal"]) >= 0.5
    assert float(rows[2]["calmdesk_anger"]) == 0.0
    assert "legal" in rows[0]["calmdesk_escalate"]


def test_unknown_column_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("id,text\n1,hello\n")
    run = calmdesk("assess", "--input", str(source), "--column", "body")
    assert run.returncode == 2
    assert b"no column 'body'" in run.stderr


def test_single_text_json_and_readable() -> None:
    run = calmdesk("assess", "I know where you live.", "--format", "json")
    data = json.loads(run.stdout)
    assert data["scores"]["threat"] >= 0.5
    assert data["escalate"]["recommended"] is True
    readable = calmdesk("assess", "[bold]You useless idiots[/bold]")
    assert readable.returncode == 0
    # Customer text is printed literally: rich markup in it is not interpreted.
    assert b"[bold]You useless idiots[/bold]" in readable.stdout
    assert b"abusive" in readable.stdout


def test_missing_file_is_reported() -> None:
    run = calmdesk("assess", "--input", "/nonexistent/file.txt")
    assert run.returncode == 2
    assert b"calmdesk assess: cannot read /nonexistent/file.txt" in run.stderr
