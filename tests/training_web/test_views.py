from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from calmdesk.training_web.models import PracticeRun
from calmdesk.training_web.services import practice_run_reply, practice_run_start

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_home_needs_login_and_lists_every_scenario(agent_a):
    assert Client().get(reverse("practice:home")).status_code == 302
    response = client_for(agent_a).get(reverse("practice:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="scenario"') >= 12
    assert "refund-kettle" in body and "No finished runs yet" in body


def test_start_reply_and_report_without_javascript(agent_a):
    client = client_for(agent_a)
    response = client.post(reverse("practice:start"), {"scenario": "refund-kettle", "coach": "1"})
    run = PracticeRun.objects.get(trainee=agent_a)
    assert response.status_code == 302 and response.url == reverse("practice:run", args=[run.pk])
    page = client.get(response.url).content.decode()
    assert "I was told NO refund on my kettle" in page
    assert 'id="live-coach"' in page
    assert 'id="hint"' in page and "What to do next" in page
    reply = "I'm really sorry. Your kettle started leaking after only five weeks and you were simply told no refund, so I can see why you're so frustrated."
    response = client.post(reverse("practice:reply", args=[run.pk]), {"body": reply})
    assert response.status_code == 302
    page = client.get(reverse("practice:run", args=[run.pk])).content.decode()
    assert "You named how they feel." in page
    assert "anger -" in page


def test_htmx_reply_returns_the_practice_partial(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle", seed=1)
    response = client_for(agent_a).post(
        reverse("practice:reply", args=[run.pk]),
        {"body": "I'm so sorry, I can hear how frustrated you are."},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="practice"')
    assert "<html" not in body
    assert body.count('data-role="trainee"') == 1


def test_htmx_empty_reply_shows_the_error_in_place(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle")
    response = client_for(agent_a).post(
        reverse("practice:reply", args=[run.pk]), {"body": "  "}, HTTP_HX_REQUEST="true"
    )
    assert "Write a reply first." in response.content.decode()
    assert PracticeRun.objects.get(pk=run.pk).replies == []


def test_test_mode_hides_feedback_until_the_end(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="late-sofa", coach_visible=False)
    practice_run_reply(run=run, text="I'm so sorry, I can hear how angry you are.")
    client = client_for(agent_a)
    page = client.get(reverse("practice:run", args=[run.pk])).content.decode()
    assert "test mode" in page
    assert 'id="live-coach"' not in page
    assert "You named how they feel." not in page
    assert "Customer's mood" not in page
    assert 'id="hint"' not in page
    assert (
        client.post(reverse("practice:coach", args=[run.pk]), {"body": "Calm down"}).content == b""
    )
    client.post(reverse("practice:finish", args=[run.pk]))
    page = client.get(reverse("practice:run", args=[run.pk])).content.decode()
    assert "You named how they feel." in page
    assert 'id="report"' in page and "unfinished" in page


def test_live_coach_reviews_a_draft(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle")
    response = client_for(agent_a).post(
        reverse("practice:coach", args=[run.pk]),
        {"body": "Calm down, it's our policy."},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="live-coach"')
    assert "dismissing_emotion" in body and "policy_hiding" in body


def test_trainee_text_is_escaped_everywhere(agent_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle")
    practice_run_reply(run=run, text=HOSTILE)
    page = client_for(agent_a).get(reverse("practice:run", args=[run.pk])).content.decode()
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_runs_are_private_to_the_trainee_and_their_supervisors(agent_a, agent_b, supervisor_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle")
    url = reverse("practice:run", args=[run.pk])
    assert client_for(agent_b).get(url).status_code == 404
    supervisor = client_for(supervisor_a)
    assert supervisor.get(url).status_code == 200
    # Supervisors can look, not reply or end the run for the trainee.
    assert (
        supervisor.post(reverse("practice:reply", args=[run.pk]), {"body": "hi"}).status_code == 403
    )
    assert supervisor.post(reverse("practice:finish", args=[run.pk])).status_code == 403
    assert (
        client_for(agent_b)
        .post(reverse("practice:reply", args=[run.pk]), {"body": "x"})
        .status_code
        == 404
    )


def test_team_page_is_for_supervisors(agent_a, supervisor_a):
    practice_run_start(trainee=agent_a, scenario_id="refund-kettle")
    assert client_for(agent_a).get(reverse("practice:team")).status_code == 403
    page = client_for(supervisor_a).get(reverse("practice:team")).content.decode()
    assert "Alice" in page


def test_bad_start_requests(agent_a):
    client = client_for(agent_a)
    response = client.post(reverse("practice:start"), {"scenario": "nope"}, follow=True)
    assert "There is no scenario" in response.content.decode()
    response = client.post(reverse("practice:start"), {}, follow=True)
    assert "Choose a scenario" in response.content.decode()
    assert client.get(reverse("practice:start")).status_code == 405
    assert client.get(reverse("practice:run", args=[999999])).status_code == 404


def test_supervisor_sees_a_trainees_runs(agent_a, agent_b, supervisor_a):
    run = practice_run_start(trainee=agent_a, scenario_id="refund-kettle")
    page = client_for(supervisor_a).get(reverse("practice:team")).content.decode()
    assert reverse("practice:trainee", args=[agent_a.pk]) in page
    page = client_for(supervisor_a).get(reverse("practice:trainee", args=[agent_a.pk]))
    assert page.status_code == 200
    assert reverse("practice:run", args=[run.pk]) in page.content.decode()
    # bob is not in the supervisor's team; agents see only themselves.
    assert (
        client_for(supervisor_a).get(reverse("practice:trainee", args=[agent_b.pk])).status_code
        == 404
    )
    assert (
        client_for(agent_b).get(reverse("practice:trainee", args=[agent_a.pk])).status_code == 403
    )
    assert (
        client_for(agent_a).get(reverse("practice:trainee", args=[agent_a.pk])).status_code == 200
    )
