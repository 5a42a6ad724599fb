"""`calmdesk import-email` on a file, a directory, an mbox and a Maildir."""

from __future__ import annotations

import io
import mailbox
import shutil
from pathlib import Path

import pytest

from calmdesk.accounts.models import Organisation
from calmdesk.channels.models import RawEmail
from calmdesk.cli import main
from calmdesk.conversations.models import Message

from .conftest import FIXTURES


def _lines(capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    return [line.split() for line in capsys.readouterr().out.splitlines()]


@pytest.mark.django_db
def test_one_file_prints_conversation_message_and_outcome(
    org: Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-email", str(FIXTURES / "01_plain_new.eml")]) == 0
    [[conversation, message, outcome]] = _lines(capsys)
    stored = Message.objects.get(pk=int(message))
    assert stored.conversation_id == int(conversation)
    assert outcome == "new"

    assert main(["import-email", str(FIXTURES / "01_plain_new.eml"), "--org", "acme"]) == 0
    assert _lines(capsys) == [[conversation, message, "duplicate"]]


@pytest.mark.django_db
def test_a_directory_prints_one_line_per_email_with_every_kind_of_outcome(
    org: Organisation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (
        "01_plain_new.eml",
        "02_gmail_reply.eml",
        "15_bounce_dsn.eml",
        "16_out_of_office.eml",
        "32_duplicate_of_01.eml",
    ):
        shutil.copy(FIXTURES / name, tmp_path / name)
    assert main(["import-email", str(tmp_path)]) == 0
    lines = _lines(capsys)
    assert [line[2] for line in lines] == ["new", "new", "bounce", "auto-reply", "duplicate"]
    first_conversation = lines[0][0]
    assert lines[1][0] == first_conversation  # the Gmail reply threads onto the first email
    assert lines[3][:2] == [
        first_conversation,
        "-",
    ]  # the out-of-office is filed, not stored as a message
    assert lines[4][:2] == lines[0][:2]


@pytest.mark.django_db
def test_an_mbox_and_a_maildir_are_read_message_by_message(
    org: Organisation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ("06_html_only.eml", "09_iso_8859_1.eml", "22_missing_message_id.eml")
    mbox_path = tmp_path / "export.mbox"
    box = mailbox.mbox(mbox_path)
    for name in names:
        box.add((FIXTURES / name).read_bytes())
    box.close()
    assert main(["import-email", str(mbox_path)]) == 0
    assert [line[2] for line in _lines(capsys)] == ["new", "new", "new"]

    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in names:
        maildir.add((FIXTURES / name).read_bytes())
    assert main(["import-email", str(tmp_path / "Maildir")]) == 0
    # The same three emails from a Maildir: recognised, nothing stored again.
    assert [line[2] for line in _lines(capsys)] == ["duplicate"] * 3
    assert RawEmail.objects.count() == 3


@pytest.mark.django_db
def test_missing_path_or_unknown_organisation_are_clear_errors(
    org: Organisation, other_org: Organisation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-email", str(tmp_path / "nope.eml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["import-email", str(FIXTURES / "01_plain_new.eml")]) == 2
    assert "--org" in capsys.readouterr().err
    assert main(["import-email", str(FIXTURES / "01_plain_new.eml"), "--org", "nobody"]) == 2
    assert "no organisation" in capsys.readouterr().err
    assert RawEmail.objects.count() == 0


@pytest.mark.django_db
def test_stdin_takes_one_email_as_a_mail_server_pipe_would(
    org: Organisation, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = (FIXTURES / "08_multipart_alternative.eml").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert main(["import-email", "-", "--org", "acme"]) == 0
    [[_, message, outcome]] = _lines(capsys)
    assert outcome == "new"
    assert RawEmail.objects.get(message_id=int(message)).raw == raw
