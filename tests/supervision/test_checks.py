"""The worker's recurring checks: claimed once per interval, run by the real db_worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.conversations.models import Conversation, Direction, Message
from calmdesk.conversations.services import inbound_message_receive
from calmdesk.followups.services import followup_create
from calmdesk.notifications.models import Notification
from calmdesk.policies.models import ConversationState
from calmdesk.policies.services import waiting_rules_check
from calmdesk.supervision.models import PeriodicCheck
from calmdesk.supervision.services import periodic_checks_ensure, periodic_checks_run

TASK_PATH = "calmdesk.supervision.tasks.run_periodic_checks"


def waiting_conversation(org: Organisation, team: Team, minutes: int, n: int = 1) -> Conversation:
    conversation = inbound_message_receive(
        organisation=org,
        channel="chat",
        external_id=f"wait-{n}",
        body_text="Any news on my repair?",
        customer_handle=f"waiter-{n}",
        team=team,
    ).conversation
    Conversation.objects.filter(pk=conversation.pk).update(
        waiting_since=timezone.now() - timedelta(minutes=minutes)
    )
    return conversation


@pytest.mark.django_db
def test_a_customer_left_waiting_is_escalated_once(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    long_wait = waiting_conversation(org, team_a, minutes=25 * 60, n=1)
    short_wait = waiting_conversation(org, team_a, minutes=30, n=2)

    assert waiting_rules_check() == [long_wait.pk]
    assert waiting_rules_check() == []  # the rule fires once per conversation
    state = ConversationState.objects.get(conversation=long_wait)
    assert state.fired_rules == ["waited_too_long"]
    long_wait.refresh_from_db()
    assert long_wait.priority == 3
    # The short wait fired nothing: its state, if it has a row at all, records no rule.
    assert (
        not ConversationState.objects.filter(conversation=short_wait)
        .exclude(fired_rules=[])
        .exists()
    )


@pytest.mark.django_db
def test_a_replied_conversation_is_not_waiting(
    org: Organisation, team_a: Team, agent_a: User
) -> None:
    from calmdesk.conversations.services import reply_send

    conversation = waiting_conversation(org, team_a, minutes=25 * 60)
    reply_send(conversation=conversation, author=agent_a, body_text="We're on it.")
    assert waiting_rules_check() == []


@pytest.mark.django_db
def test_each_interval_is_claimed_once(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        first = periodic_checks_run(now=now)
    assert first == {
        "followups": {"reminded": [], "overdue": [], "kept": []},
        "waiting_escalations": [],
    }
    assert periodic_checks_run(now=now + timedelta(seconds=5)) is None  # same interval
    assert periodic_checks_run(now=now + timedelta(seconds=61)) is not None
    # The run that claimed the interval queued the next one.
    queued = DBTaskResult.objects.filter(task_path=TASK_PATH)
    assert [r.run_after for r in queued] == [now + timedelta(seconds=60)]


@pytest.mark.django_db(transaction=True)
def test_the_worker_reports_an_overdue_followup(
    org: Organisation, team_a: Team, agent_a: User, supervisor_a: User
) -> None:
    conversation = waiting_conversation(org, team_a, minutes=5)
    promise = Message.objects.create(
        organisation=org,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        author=agent_a,
        channel="chat",
        body_text="I'll call you back within the hour.",
    )
    followup = followup_create(
        conversation=conversation,
        due_at=timezone.now() - timedelta(minutes=1),
        description="Call back within the hour",
        created_by=agent_a,
        promise_message=promise,
    )
    periodic_checks_ensure()
    call_command("db_worker", batch=True, interval=0.1, startup_delay=False, reload=False)

    followup.refresh_from_db()
    assert followup.overdue_raised_at is not None
    assert Notification.objects.filter(kind="followup.overdue", recipient=agent_a).count() == 1
    # The follow-up's own scheduled checks and the recurring check all ran; between
    # them the overdue follow-up was reported exactly once.
    reports = [
        r.return_value["followups"] if r.task_path == TASK_PATH else r.return_value
        for r in DBTaskResult.objects.filter(status="SUCCESSFUL")
    ]
    assert len(reports) >= 2
    assert [pk for report in reports for pk in report["overdue"]] == [followup.pk]
    assert PeriodicCheck.objects.get().last_run_at is not None
    # The chain goes on: the next run is queued for later.
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").count() == 1


@pytest.mark.django_db(transaction=True)
def test_schedule_checks_command_queues_the_chain() -> None:
    call_command("schedule_checks")
    call_command("schedule_checks")  # a second worker start: harmless
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").count() == 2
    call_command("db_worker", batch=True, interval=0.1, startup_delay=False, reload=False)
    # One copy claimed the interval and queued the next run; the other stopped.
    successful = DBTaskResult.objects.filter(task_path=TASK_PATH, status="SUCCESSFUL")
    assert sorted(r.return_value is None for r in successful) == [False, True]
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("quiet", [False, True])
def test_a_quiet_worker_prints_no_line_per_task(
    quiet: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    import argparse
    import logging

    from calmdesk.cli.worker import _warning_or_worse, run

    args = argparse.Namespace(interval=0.1, batch=True, max_tasks=None, quiet=quiet)
    try:
        assert run(args) == 0
    finally:
        for name in ("django_tasks", "django_tasks_db"):
            logging.getLogger(name).removeFilter(_warning_or_worse)
    printed = capfd.readouterr()
    task_lines = [
        line for line in (printed.out + printed.err).splitlines() if line.startswith("Task id=")
    ]
    # The worker ran the periodic checks it queued on start either way.
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="SUCCESSFUL").exists()
    assert (not task_lines) if quiet else bool(task_lines)
