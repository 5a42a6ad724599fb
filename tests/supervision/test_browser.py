"""The supervisor's pages in a real browser (Debian's Chromium through Playwright).

Screenshots go to /work/screens/ (or $CALMDESK_SCREENSHOT_DIR) for people to look at.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.conversations.services import inbound_message_receive, reply_send
from calmdesk.followups.services import followup_create
from calmdesk.incidents.models import Incident, IncidentStatus
from calmdesk.policies.document import default_policy_raw
from calmdesk.policies.services import policy_get

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
SCREENS = Path(os.environ.get("CALMDESK_SCREENSHOT_DIR", "/work/screens"))


def screenshot(tab: Any, name: str) -> None:
    try:
        SCREENS.mkdir(parents=True, exist_ok=True)
        tab.evaluate("window.scrollTo(0, 0)")
        tab.screenshot(path=str(SCREENS / name), full_page=True)
    except OSError:
        pass  # a read-only CI checkout still runs the assertions


def log_in(tab: Any, base_url: str, user: User) -> None:
    tab.goto(f"{base_url}/login/")
    tab.fill("input[name=username]", user.username)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base_url}/")


def seed(org: Organisation, team: Team, agent: User) -> None:
    counter = iter(range(1, 100))

    def receive(text: str, handle: str, name: str, conversation_id: int | None = None):  # type: ignore[no-untyped-def]
        return inbound_message_receive(
            organisation=org,
            channel="chat",
            external_id=f"browser-{next(counter)}",
            body_text=text,
            customer_handle=handle,
            customer_name=name,
            conversation_id=conversation_id,
            team=team,
        ).conversation

    threat = receive(
        "Third time the boiler failed. <script>alert('x')</script> I will come to your office "
        "and hurt someone.",
        "mallory",
        "Mallory <i>Reyes</i>",
    )
    threat.assignee = agent
    threat.save()
    abusive = receive("You are a useless idiot, where is my engineer?", "dana", "Dana Frost")
    abusive.assignee = agent
    abusive.save()
    reply_send(
        conversation=abusive,
        author=agent,
        body_text="I'm sorry the visit was missed. I will call you by 4pm with a new slot.",
    )
    receive("You're an incompetent moron.", "dana", "Dana Frost", abusive.pk)
    receive("Are you stupid? Answer me.", "dana", "Dana Frost", abusive.pk)
    receive("I will see you in court over this bill.", "lee", "Lee Okafor")
    followup_create(
        conversation=abusive,
        due_at=timezone.now() - timedelta(minutes=20),
        description="Call Dana with a new engineer slot",
        created_by=agent,
    )


def test_supervisor_works_an_incident_from_the_dashboard(
    page: Any, live_server: Any, org: Organisation, team_a: Team, agent_a: User, supervisor_a: User
) -> None:
    seed(org, team_a, agent_a)
    base = live_server.url
    log_in(page, base, supervisor_a)
    page.goto(f"{base}/supervision/")
    page.wait_for_selector("#dashboard-panels")
    escalations = page.locator("section[aria-labelledby=escalations-title]")
    assert "The customer threatened violence." in escalations.inner_text()
    assert "Ended and handed to a supervisor" in escalations.inner_text()
    overdue = page.locator("section[aria-labelledby=overdue-title]").inner_text()
    assert "Call Dana with a new engineer slot" in overdue
    wellbeing = page.locator("section[aria-labelledby=wellbeing-title]").inner_text()
    assert "Alice" in wellbeing and "threat" in wellbeing
    # Customer text is shown as text, never markup.
    assert "Mallory <i>Reyes</i>" in page.locator("#dashboard-panels").inner_text()
    screenshot(page, "supervision-dashboard.png")

    incidents = page.locator("section[aria-labelledby=incidents-title]")
    incidents.get_by_role("link", name="Safety (threat of violence)", exact=False).first.click()
    page.wait_for_selector("#incident-status")
    assert "hurt someone" in page.locator("#words-title + blockquote").inner_text()
    screenshot(page, "supervision-incident-open.png")

    page.fill("#transition-note", "Spoke to Alice; she is taking a break.")
    page.get_by_role("button", name="Mark acknowledged").click()
    page.wait_for_function(
        "document.querySelector('#incident-status').textContent.trim() === 'Acknowledged'"
    )
    page.fill("#action-description", "Report the threat to building security")
    page.get_by_role("button", name="Add action").click()
    page.wait_for_selector("text=Report the threat to building security")
    page.get_by_role("button", name="Mark action taken").click()
    page.wait_for_function(
        "document.querySelector('#incident-status').textContent.trim() === 'Action taken'"
    )
    page.get_by_role("button", name="Mark closed").click()
    page.wait_for_function(
        "document.querySelector('#incident-status').textContent.trim() === 'Closed'"
    )
    screenshot(page, "supervision-incident-closed.png")
    incident = Incident.objects.get(kind="safety")
    assert incident.status == IncidentStatus.CLOSED
    assert incident.actions.get().description == "Report the threat to building security"
    assert incident.notes.first().body == "Spoke to Alice; she is taking a break."  # type: ignore[union-attr]


def test_admin_edits_the_policy(
    page: Any, live_server: Any, org: Organisation, admin_user: User
) -> None:
    base = live_server.url
    log_in(page, base, admin_user)
    page.goto(f"{base}/supervision/policy/")
    # The form: a rule that does nothing and an emptied boundary reply are refused,
    # with the problems named as the form names them, and what was typed is kept.
    page.fill("input[name=abuse_threshold]", "0.6")
    page.fill("input[name=rule-0-id]", "legal_threat_renamed")
    page.fill("textarea[name=ladder-1-reply]", "")
    new_rule = "#rule-" + str(len(default_policy_raw()["escalation_rules"]))
    page.fill(f"{new_rule} input[name$=-id]", "refund_demand")
    page.select_option(f"{new_rule} select[name$=cond-0-fact]", "score.refund")
    page.fill(f"{new_rule} input[name$=cond-0-value]", "0.7")
    # Bypass the browser's own required check to see the server's answer.
    page.evaluate("document.getElementById('policy-form').noValidate = true")
    page.locator("#save-policy").click()
    page.wait_for_selector("#policy-errors")
    errors = page.inner_text("#policy-errors")
    assert "Second insult: final warning, reply:" in errors
    assert "refund_demand" in errors and "must do something" in errors
    assert page.input_value("input[name=rule-0-id]") == "legal_threat_renamed"
    screenshot(page, "supervision-policy-error.png")

    page.fill("textarea[name=ladder-1-reply]", "This is the last time I can ask you to stop.")
    page.check(f"{new_rule} input[name$=-notify_supervisors]")
    page.locator("#save-policy").click()
    page.wait_for_selector("text=Policy saved.")
    assert "Revision 1" in page.inner_text(".page-head")
    assert "added rule refund_demand" in page.inner_text("#history-title + ol")
    screenshot(page, "supervision-policy-saved.png")
    saved = policy_get(organisation=org)
    assert saved.boundaries.abuse_threshold == 0.6
    assert saved.escalation_rules[0].id == "legal_threat_renamed"
    assert saved.escalation_rules[-1].id == "refund_demand"

    # The JSON editor is still there for everything at once.
    page.click("#policy-json summary")
    document = default_policy_raw()
    document["boundaries"]["abuse_threshold"] = 5
    page.locator("textarea[name=document]").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Save the JSON").click()
    page.wait_for_selector("#policy-errors")
    assert "abuse_threshold: must be a number between 0 and 1" in page.inner_text("#policy-errors")


def test_agent_sees_overdue_followups_and_blocks_a_contact(
    page: Any, live_server: Any, org: Organisation, team_a: Team, agent_a: User, supervisor_a: User
) -> None:
    from calmdesk.customers.models import ContactIdentity
    from calmdesk.policies.services import identity_block

    seed(org, team_a, agent_a)
    identity_block(
        identity=ContactIdentity.objects.get(value="mallory"),
        actor=agent_a,
        reason="Threatened to come to the office and hurt someone.",
    )
    base = live_server.url
    log_in(page, base, agent_a)
    page.goto(f"{base}/supervision/followups/?overdue=1")
    row = page.locator("table.data-table tbody tr").first
    assert "Call Dana with a new engineer slot" in row.inner_text()
    assert "overdue" in row.inner_text()
    screenshot(page, "supervision-followups-overdue.png")
    row.get_by_role("button", name="Done").click()
    page.wait_for_selector("text=Nothing is overdue.")

    page.goto(f"{base}/supervision/blocks/")
    assert "Waiting for review" in page.inner_text("table.data-table")
    assert "Mallory <i>Reyes</i>" in page.inner_text("table.data-table")
    screenshot(page, "supervision-blocks.png")
