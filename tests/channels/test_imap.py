"""IMAP polling against a real Dovecot on a loopback port, over TLS.

The test writes its own Dovecot configuration (temporary maildir, a
passwd-file with one user, a self-signed certificate) and skips when the
dovecot binary (Debian: dovecot-imapd) or openssl is not installed.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from calmdesk.accounts.models import Organisation
from calmdesk.channels.conf import imap_mailboxes
from calmdesk.channels.imap import imap_poll, imap_poll_all
from calmdesk.channels.models import ImapMailboxState, RawEmail
from calmdesk.conversations.models import Message

from .conftest import fixture_bytes

pytestmark = pytest.mark.skipif(
    shutil.which("dovecot") is None or shutil.which("openssl") is None,
    reason="needs Dovecot (Debian package dovecot-imapd) and openssl",
)

USER = "support@calmdesk.test"
PASSWORD = "imap-test-password-7"


@dataclass(frozen=True)
class Dovecot:
    port: int
    cert: Path

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.cert))
        connection = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=10)
        connection.login(USER, PASSWORD)
        return connection

    def deliver(self, *raws: bytes) -> None:
        connection = self.client()
        try:
            for raw in raws:
                status, _ = connection.append(
                    "INBOX", None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                )
                assert status == "OK"
        finally:
            connection.logout()

    def unseen(self) -> int:
        connection = self.client()
        try:
            connection.select("INBOX", readonly=True)
            _, data = connection.search(None, "UNSEEN")
            return len(data[0].split())
        finally:
            connection.logout()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(root: Path, port: int) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses mail access as root, and runs its helpers as the
        # users the Debian package creates.
        mail_uid = mail_gid = 65534
        internal, login, group = "dovecot", "dovenull", "dovecot"
    else:
        # Unprivileged: every helper runs as us, and nothing can chroot.
        mail_uid, mail_gid = os.getuid(), os.getgid()
        internal = login = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
disable_plaintext_auth = yes
default_internal_user = {internal}
default_login_user = {login}
default_internal_group = {group}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="calmdesk-dovecot-"))
    root.chmod(0o755)
    (root / "run").mkdir()
    (root / "state").mkdir()
    (root / "home").mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(root / "key.pem"),
            "-out",
            str(root / "cert.pem"),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    if os.geteuid() == 0:
        os.chown(root / "home", 65534, 65534)
    port = _free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    process = subprocess.Popen(
        ["dovecot", "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = Dovecot(port=port, cert=root / "cert.pem")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.client().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    pytest.fail(f"Dovecot did not start:\n{output}\n{log}")
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


def _mailbox_settings(dovecot: Dovecot, **overrides: Any) -> list[dict[str, Any]]:
    config: dict[str, Any] = {
        "name": "support",
        "host": "127.0.0.1",
        "port": dovecot.port,
        "username": USER,
        "password_env": "CALMDESK_TEST_IMAP_PASSWORD",
        "security": "tls",
        "ca_file": str(dovecot.cert),
        "organisation": "acme",
        "address": "support@calmdesk.test",
    }
    config.update(overrides)
    return [config]


@pytest.mark.django_db
def test_polling_imports_new_mail_once_and_leaves_the_mailbox_unread(
    dovecot: Dovecot, org: Organisation, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALMDESK_TEST_IMAP_PASSWORD", PASSWORD)
    settings.CALMDESK_IMAP_MAILBOXES = _mailbox_settings(dovecot, name="first")
    dovecot.deliver(
        fixture_bytes("01_plain_new.eml"),
        fixture_bytes("02_gmail_reply.eml"),
        fixture_bytes("16_out_of_office.eml"),
    )
    [mailbox] = imap_mailboxes()

    result = imap_poll(mailbox)
    assert (result.error, result.fetched, result.new, result.machine) == ("", 3, 2, 1)
    messages = list(Message.objects.filter(organisation=org).order_by("id"))
    assert len(messages) == 2 and messages[0].conversation_id == messages[1].conversation_id
    assert RawEmail.objects.filter(source__startswith="imap:first:").count() == 3

    again = imap_poll(mailbox)
    assert (again.error, again.fetched, again.new) == ("", 0, 0)
    assert Message.objects.count() == 2 and RawEmail.objects.count() == 3

    # New mail, plus the same email delivered a second time by the mail server.
    dovecot.deliver(
        fixture_bytes("08_multipart_alternative.eml"), fixture_bytes("01_plain_new.eml")
    )
    third = imap_poll(mailbox)
    assert (third.error, third.fetched, third.new, third.duplicate) == ("", 2, 1, 1)
    assert Message.objects.count() == 3 and RawEmail.objects.count() == 4

    # A renumbered folder (new UIDVALIDITY) is read again from the start; nothing is stored twice.
    ImapMailboxState.objects.filter(name="first").update(uidvalidity=1)
    renumbered = imap_poll(mailbox)
    assert (renumbered.fetched, renumbered.new) == (5, 0)
    assert Message.objects.count() == 3 and RawEmail.objects.count() == 4
    # Read-only polling: the staff's mail client still shows the mail as unread.
    assert dovecot.unseen() >= 5


@pytest.mark.django_db
def test_a_wrong_password_or_an_untrusted_certificate_is_recorded_not_raised(
    dovecot: Dovecot, org: Organisation, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALMDESK_TEST_IMAP_PASSWORD", "not-the-password")
    settings.CALMDESK_IMAP_MAILBOXES = _mailbox_settings(dovecot, name="badpass")
    [result] = imap_poll_all()
    assert "authentication failed" in result.error.lower() or "AUTHENTICATIONFAILED" in result.error
    assert ImapMailboxState.objects.get(name="badpass").last_error == result.error

    monkeypatch.setenv("CALMDESK_TEST_IMAP_PASSWORD", PASSWORD)
    settings.CALMDESK_IMAP_MAILBOXES = _mailbox_settings(dovecot, name="untrusted", ca_file="")
    [result] = imap_poll_all()
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_the_poll_command_reports_each_mailbox(
    dovecot: Dovecot,
    org: Organisation,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    monkeypatch.setenv("CALMDESK_TEST_IMAP_PASSWORD", PASSWORD)
    settings.CALMDESK_IMAP_MAILBOXES = _mailbox_settings(dovecot, name="command")
    dovecot.deliver(fixture_bytes("29_signature_dashes.eml"))
    out = StringIO()
    call_command("poll_email", stdout=out)
    # The mailbox is shared by this module's tests, so it holds their mail too.
    assert re.fullmatch(
        r"command: (\d+) fetched, (\d+) new, (\d+) duplicate, (\d+) automatic\n",
        out.getvalue(),
    )
    assert Message.objects.filter(body_text__contains="Please refund it").exists()

    # The same poll as a task (run at once here; by `calmdesk worker` in production).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    dovecot.deliver(fixture_bytes("34_auto_submitted_no.eml"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("poll_email", "--enqueue", stdout=StringIO())
    assert Message.objects.filter(body_text__contains="kettle stopped heating").exists()

    settings.CALMDESK_IMAP_MAILBOXES = []
    with pytest.raises(CommandError, match="no IMAP mailbox"):
        call_command("poll_email")
