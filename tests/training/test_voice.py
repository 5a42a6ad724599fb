"""The optional chat-model voice: steered by the simulation, never in charge of it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from calmdesk.training import find_scenario, play_script
from calmdesk.training.voice import ChatVoice, VoiceConfig

from .helpers import TableCoach
from .test_customer import ACK, CALM_DOWN, FIX, PARA, table


class Recorder:
    def __init__(self, answer=None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict, dict]] = []
        self.answer = answer
        self.error = error

    def __call__(self, url, payload, headers, timeout):
        self.calls.append((url, payload, dict(headers)))
        if self.error:
            raise self.error
        return self.answer


def reply(text: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": text}}]}


def test_the_voice_rewrites_lines_but_the_simulation_decides_the_outcome():
    scenario = find_scenario("refund-kettle")
    post = Recorder(reply("  In my own words: fine.  "))
    voice = ChatVoice(VoiceConfig(url="http://llm.local/v1", model="tiny", api_key="k"), post=post)
    plain = play_script(scenario, [ACK, PARA, FIX], seed=1, coach=table())
    voiced = play_script(scenario, [ACK, PARA, FIX], seed=1, coach=table(), voice=voice)
    assert voiced.outcome == plain.outcome == "satisfied"
    assert [t.after for t in voiced.turns] == [t.after for t in plain.turns]
    assert all(t.customer == "In my own words: fine." for t in voiced.turns)
    url, payload, headers = post.calls[0]
    assert url == "http://llm.local/v1/chat/completions"
    assert payload["model"] == "tiny"
    assert headers == {"Authorization": "Bearer k"}
    system = payload["messages"][0]["content"]
    assert "Marcus Hale" in system and "anger" in system and "mood is" in system
    # The line chosen by the composer is what the model is told to say.
    assert payload["messages"][-1]["content"].endswith(plain.turns[0].customer)
    # The customer is the assistant; the trainee's replies are the user's turns.
    roles = [m["role"] for m in payload["messages"][1:-1]]
    assert roles == ["assistant", "user"]
    last = post.calls[-1][1]["messages"][0]["content"]
    assert "outcome 'satisfied'" in last


@pytest.mark.parametrize(
    "post",
    [
        Recorder(error=OSError("connection refused")),
        Recorder(answer={"choices": []}),
        Recorder(answer={"unexpected": True}),
        Recorder(answer=reply("")),
        Recorder(answer=reply("x" * 5000)),
        Recorder(answer=reply(None)),
    ],
)
def test_any_failure_falls_back_to_the_composed_line(post):
    scenario = find_scenario("refund-kettle")
    voice = ChatVoice(VoiceConfig(url="http://llm.local"), post=post)
    voiced = play_script(scenario, [CALM_DOWN, ACK], seed=3, coach=table(), voice=voice)
    plain = play_script(scenario, [CALM_DOWN, ACK], seed=3, coach=table())
    assert voiced.transcript == plain.transcript
    assert voice.failures == len(voiced.turns)


def test_config_from_the_environment():
    assert VoiceConfig.from_env({}) is None
    config = VoiceConfig.from_env(
        {
            "CALMDESK_PRACTICE_LLM_URL": "http://x/v1/chat/completions",
            "CALMDESK_PRACTICE_LLM_KEY": "s",
        }
    )
    assert config is not None
    assert config.endpoint == "http://x/v1/chat/completions"
    assert (config.model, config.api_key) == ("default", "s")


def test_a_real_http_endpoint(monkeypatch):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            data = json.dumps(reply("Well, that is something at least.")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1"
        voice = ChatVoice(VoiceConfig(url=url, timeout=5))
        result = play_script(
            find_scenario("late-sofa"), [ACK], seed=0, coach=TableCoach({}), voice=voice
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.turns[0].customer == "Well, that is something at least."
    assert seen and seen[0]["messages"][0]["role"] == "system"
    assert voice.failures == 0


def test_non_http_urls_are_refused_and_fall_back():
    voice = ChatVoice(VoiceConfig(url="file:///etc/passwd"))
    result = play_script(find_scenario("late-sofa"), [ACK], coach=TableCoach({}), voice=voice)
    assert voice.failures == 1
    assert result.turns[0].customer
