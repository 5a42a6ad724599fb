"""`calmdesk serve` as a new user runs it: the address it prints answers at once."""

from __future__ import annotations

import http.client
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from calmdesk.cli.serve import KEEPALIVE_REQUESTS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_ready_line_comes_when_the_address_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "CALMDESK_DATABASE_URL"}
    env["CALMDESK_DATA_DIR"] = str(tmp_path)  # its own SQLite database, migrated by serve
    command = [sys.executable, "-m", "calmdesk", "serve", "--no-worker", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "1", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        # Read in a thread, so a server that hangs without a word fails the test, not CI.
        said: queue.Queue[str] = queue.Queue()
        stdout = server.stdout
        threading.Thread(target=lambda: [said.put(line) for line in stdout], daemon=True).start()
        lines: list[str] = []
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline:
            try:
                line = said.get(timeout=1.0)
            except queue.Empty:
                assert server.poll() is None, f"serve exited early: {lines}"
                continue
            lines.append(line)
            if line.startswith("calmdesk is serving at"):
                break
        assert lines, "serve said nothing"
        assert lines[-1].startswith(f"calmdesk is serving at http://127.0.0.1:{port}/")
        assert any(line.startswith("Starting calmdesk") for line in lines[:-1])
        # Straight after the line, with no retry: the login page answers.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=30) as answer:
            assert answer.status == 200
            assert b"password" in answer.read().lower()
        # One kept-alive connection carries KEEPALIVE_REQUESTS requests, and the last of them is
        # answered "Connection: close", so a client reconnects to whichever worker is free.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        closing: list[int] = []
        for number in range(1, KEEPALIVE_REQUESTS + 1):
            connection.request("GET", "/login/")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            if (response.getheader("Connection") or "").lower() == "close":
                closing.append(number)
        connection.close()
        assert closing == [KEEPALIVE_REQUESTS]
    finally:
        server.terminate()
        server.wait(timeout=30)
