from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from calmdesk.engine.coaching.rewriter import RewriterConfig, rewrite

CUSTOMER = "My parcel is THREE weeks late and nobody answers my emails!!"
DRAFT = "Calm down. You need to wait for the courier."
GOOD = (
    "I'm so sorry, three weeks without your parcel and no answers must be infuriating. "
    "I'll chase the courier today and email you by 4pm with a delivery date."
)
RUDE = "Stop whining, you idiot, it will come."


class _Endpoint(BaseHTTPRequestHandler):
    answer: Any = None
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"),
             "body": json.loads(self.rfile.read(length))}
        )  # fmt: skip
        data = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Endpoint.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_off_by_default() -> None:
    assert RewriterConfig.from_env({}) is None
    result = rewrite(DRAFT, conversation=[("customer", CUSTOMER)])
    assert result.suggestions == () and result.error is None


def test_suggestions_are_coached_and_only_better_ones_kept(endpoint: str) -> None:
    _Endpoint.answer = {"choices": [{"message": {"content": f"{GOOD}\n---\n{RUDE}\n---\n{DRAFT}"}}]}
    config = RewriterConfig(url=endpoint, model="small-model", api_key="k3y")
    result = rewrite(DRAFT, conversation=[("customer", CUSTOMER)], config=config)
    assert [suggestion.text for suggestion in result.suggestions] == [GOOD]
    assert result.suggestions[0].coaching.score > 60
    request = _Endpoint.seen[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer k3y"
    assert request["body"]["model"] == "small-model"
    assert DRAFT in request["body"]["messages"][1]["content"]


def test_failures_give_no_suggestions_and_a_reason(endpoint: str) -> None:
    _Endpoint.answer = {"unexpected": True}
    config = RewriterConfig(url=endpoint, model="m")
    assert rewrite(DRAFT, config=config).suggestions == ()
    closed = RewriterConfig(url="http://127.0.0.1:9/v1", model="m", timeout_seconds=1)
    unavailable = rewrite(DRAFT, config=closed)
    assert unavailable.suggestions == () and "unavailable" in (unavailable.error or "")
    assert "http" in (
        rewrite(DRAFT, config=RewriterConfig(url="file:///etc/passwd", model="m")).error or ""
    )
