from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from calmdesk.conversations.services import inbound_message_receive, reply_send
from calmdesk.training import ScenarioError
from calmdesk.training_web.models import CustomScenario
from calmdesk.training_web.scenarios import organisation_scenarios, shipped_source
from calmdesk.training_web.services import (
    ScenarioPermissionDenied,
    practice_run_reply,
    practice_run_start,
    practice_scenario_delete,
    practice_scenario_save,
)

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def renamed(source: str, new_id: str, title: str) -> str:
    source = source.replace('id = "late-sofa"', f'id = "{new_id}"', 1)
    return source.replace(
        'title = "A sofa three weeks late, and a day off work wasted"', f'title = "{title}"', 1
    )


def test_an_organisation_can_add_and_override_scenarios(supervisor_a, org, other_org):
    source = shipped_source("late-sofa")
    practice_scenario_save(author=supervisor_a, source=renamed(source, "late-bed", "A late bed"))
    practice_scenario_save(
        author=supervisor_a, source=renamed(source, "late-sofa", "Our own sofa story")
    )
    ours = {s.id: s for s in organisation_scenarios(org.pk)}
    assert ours["late-bed"].title == "A late bed"
    assert ours["late-sofa"].title == "Our own sofa story"
    theirs = {s.id: s for s in organisation_scenarios(other_org.pk)}
    assert "late-bed" not in theirs
    assert theirs["late-sofa"].title.startswith("A sofa three weeks late")
    assert practice_scenario_delete(author=supervisor_a, scenario_id="late-sofa")
    ours = {s.id: s for s in organisation_scenarios(org.pk)}
    assert ours["late-sofa"].title.startswith("A sofa three weeks late")


def test_runs_use_the_organisations_own_version(supervisor_a, agent_a):
    source = shipped_source("late-sofa").replace(
        "I took a DAY OFF WORK", "I booked a DAY OFF WORK", 1
    )
    practice_scenario_save(author=supervisor_a, source=source)
    run = practice_run_start(trainee=agent_a, scenario_id="late-sofa")
    practice_run_reply(run=run, text="I'm sorry, I can hear how angry you are.")
    from calmdesk.training_web.services import practice_run_session

    assert practice_run_session(run).opening.startswith("I booked a DAY OFF WORK")


def test_invalid_sources_are_refused_with_every_problem(supervisor_a):
    with pytest.raises(ScenarioError) as caught:
        practice_scenario_save(author=supervisor_a, source='id = "x"\ntitle = ""\n')
    assert len(caught.value.problems) > 3
    assert not CustomScenario.objects.exists()


def test_agents_cannot_edit_scenarios(agent_a):
    with pytest.raises(ScenarioPermissionDenied):
        practice_scenario_save(author=agent_a, source=shipped_source("late-sofa"))
    assert client_for(agent_a).get(reverse("practice:scenarios")).status_code == 403
    response = client_for(agent_a).post(
        reverse("practice:scenario-new"), {"source": shipped_source("late-sofa")}
    )
    assert response.status_code == 403


def test_edit_pages(supervisor_a):
    client = client_for(supervisor_a)
    page = client.get(reverse("practice:scenarios")).content.decode()
    assert page.count("<tr data-scenario=") >= 12
    edit = client.get(reverse("practice:scenario-edit", args=["late-sofa"])).content.decode()
    assert "I took a DAY OFF WORK" in edit
    assert client.get(reverse("practice:scenario-edit", args=["nope"])).status_code == 404
    bad = client.post(reverse("practice:scenario-new"), {"source": "id = [oops"})
    assert bad.status_code == 200
    assert "not valid TOML" in bad.content.decode()
    good = client.post(
        reverse("practice:scenario-new"),
        {"source": renamed(shipped_source("late-sofa"), "late-bed", "A <b>late</b> bed")},
    )
    assert good.status_code == 302
    page = client.get(reverse("practice:scenarios")).content.decode()
    assert "A &lt;b&gt;late&lt;/b&gt; bed" in page and "yours" in page


def test_draft_from_a_real_conversation_is_anonymised(supervisor_a, agent_a, team_a, org):
    result = inbound_message_receive(
        organisation=org,
        channel="email",
        external_id="real-1@example.com",
        body_text="This is the third time I write about order 55123! Call me on 07700 900555. "
        "Regards, Pat Quinlan",
        customer_email="pat.quinlan@example.net",
        customer_name="Pat Quinlan",
        subject="Order 55123",
        team=team_a,
    )
    conversation = result.conversation
    reply_send(conversation=conversation, author=agent_a, body_text="Hi Pat, Alice here, sorry!")
    client = client_for(supervisor_a)
    url = reverse("practice:scenario-from-conversation", args=[conversation.pk])
    page = client.get(url).content.decode()
    assert "from-conversation-" in page
    for personal in ("Pat", "Quinlan", "55123", "07700 900555", "Alice"):
        assert personal not in page.split("<textarea", 1)[1], personal
    assert client_for(agent_a).get(url).status_code == 403
