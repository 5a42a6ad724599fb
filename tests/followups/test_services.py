from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Direction, Message
from calmdesk.followups.models import FollowUp, FollowUpSource, FollowUpState
from calmdesk.followups.selectors import followup_list
from calmdesk.followups.services import (
    FollowUpError,
    followup_close,
    followup_create,
    followups_check,
    followups_from_reply,
)
from calmdesk.followups.tasks import check_followups
from calmdesk.notifications.models import Notification
from tests.policies.factories import make_conversation

pytestmark = pytest.mark.django_db


def reply(conversation, agent: User, text: str = "Here is an update.", coaching=None) -> Message:  # type: ignore[no-untyped-def]
    return Message.objects.create(
        organisation=conversation.organisation,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        author=agent,
        channel=conversation.channel,
        body_text=text,
        coaching=coaching,
    )


@pytest.fixture
def conversation(org: Organisation, team_a: Team, agent_a: User):  # type: ignore[no-untyped-def]
    return make_conversation(org, team=team_a, assignee=agent_a)


def test_overdue_when_the_time_passed_with_no_message_since_the_promise(
    conversation,
    agent_a: User,
    supervisor_a: User,  # type: ignore[no-untyped-def]
) -> None:
    promise = reply(conversation, agent_a, "I will call you back by 3pm.")
    followup = followup_create(
        conversation=conversation,
        due_at=timezone.now() - timedelta(minutes=5),
        description="Call back by 3pm.",
        created_by=agent_a,
        source=FollowUpSource.PROMISE,
        promise_message=promise,
    )
    report = followups_check()
    assert report.overdue == (followup.pk,)
    body = Notification.objects.filter(kind="followup.overdue").first().body  # type: ignore[union-attr]
    assert body.startswith("The customer was promised: Call back by 3pm. The time has passed")
    followup.refresh_from_db()
    assert followup.overdue_raised_at is not None
    recipients = set(
        Notification.objects.filter(kind="followup.overdue").values_list("recipient", flat=True)
    )
    assert recipients == {agent_a.pk, supervisor_a.pk}
    assert AuditEvent.objects.filter(action="followup.overdue").count() == 1
    assert list(followup_list(agent_a, overdue=True)) == [followup]

    # Raised once only.
    assert followups_check().overdue == ()

    # Writing to the customer, even without a fix, settles the promise.
    reply(conversation, agent_a, "No fix yet, but I'm still on it.")
    assert followups_check().kept == (followup.pk,)
    followup.refresh_from_db()
    assert followup.state == FollowUpState.DONE
    assert list(followup_list(agent_a, overdue=True)) == []


def test_not_overdue_when_the_customer_heard_back_in_time(conversation, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    promise = reply(conversation, agent_a, "I will check and write by noon.")
    followup = followup_create(
        conversation=conversation,
        due_at=timezone.now() + timedelta(hours=2),
        description="Write by noon",
        created_by=agent_a,
        promise_message=promise,
    )
    reply(conversation, agent_a, "Quick update: the part has shipped.")
    report = followups_check(now=followup.due_at + timedelta(minutes=1))
    assert report.overdue == ()
    assert report.kept == (followup.pk,)
    assert not Notification.objects.filter(kind="followup.overdue").exists()


def test_reminder_before_due_is_sent_once(conversation, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    followup = followup_create(
        conversation=conversation,
        due_at=timezone.now() + timedelta(minutes=10),
        description="Send the refund confirmation",
        created_by=agent_a,
    )
    far = followup_create(
        conversation=conversation,
        due_at=timezone.now() + timedelta(days=2),
        description="Check the replacement arrived",
        created_by=agent_a,
    )
    assert followups_check().reminded == (followup.pk,)
    assert followups_check().reminded == ()
    reminder = Notification.objects.get(kind="followup.reminder")
    assert reminder.recipient == agent_a
    assert "Send the refund confirmation" in reminder.body
    far.refresh_from_db()
    assert far.reminded_at is None


def test_closed_followups_are_left_alone(conversation, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    followup = followup_create(
        conversation=conversation,
        due_at=timezone.now() - timedelta(minutes=1),
        description="Call back",
        created_by=agent_a,
    )
    followup_close(followup=followup, actor=agent_a, state=FollowUpState.CANCELLED)
    assert followups_check() == followups_check().__class__((), (), ())


def test_promises_in_a_sent_reply_become_followups(conversation, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    due = timezone.now() + timedelta(days=1)
    message = reply(
        conversation,
        agent_a,
        "I'll call you tomorrow before noon.",
        coaching={
            "promises": [
                {"text": "I'll call you tomorrow before noon", "due_at": due.isoformat()},
                {"text": "I'll keep you posted"},
                "not a promise object",
            ]
        },
    )
    created = followups_from_reply(message=message)
    assert [f.description for f in created] == [
        "I'll call you tomorrow before noon",
        "I'll keep you posted",
    ]
    assert created[0].due_at == due
    # No resolved time: a day after the reply, so the promise is not forgotten.
    assert created[1].due_at == message.created_at + timedelta(hours=24)
    assert all(f.source == FollowUpSource.PROMISE and f.promise_message == message for f in created)


def test_replies_without_promises_create_nothing(conversation, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    assert followups_from_reply(message=reply(conversation, agent_a, coaching=None)) == []
    assert (
        followups_from_reply(message=reply(conversation, agent_a, coaching={"promises": 3})) == []
    )


@pytest.mark.parametrize(
    ("description", "due_at", "error"),
    [
        ("  ", timezone.now(), "needs a description"),
        ("x" * 501, timezone.now(), "longer than"),
        ("Call", timezone.now().replace(tzinfo=None), "time zone"),
    ],
)
def test_bad_input_is_refused(conversation, agent_a: User, description, due_at, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FollowUpError, match=error):
        followup_create(
            conversation=conversation, due_at=due_at, description=description, created_by=agent_a
        )


def test_creating_a_followup_schedules_the_checks(
    conversation,
    agent_a: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    due = timezone.now() + timedelta(hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        followup_create(
            conversation=conversation, due_at=due, description="Call back", created_by=agent_a
        )
    scheduled = DBTaskResult.objects.filter(task_path="calmdesk.followups.tasks.check_followups")
    assert sorted(r.run_after for r in scheduled) == [due - timedelta(minutes=30), due]


def test_the_task_runs_the_check(conversation, agent_a: User) -> None:  # type: ignore[no-untyped-def]
    followup = followup_create(
        conversation=conversation,
        due_at=timezone.now() - timedelta(minutes=1),
        description="Call back",
        created_by=agent_a,
    )
    assert check_followups.call() == {"reminded": [], "overdue": [followup.pk], "kept": []}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_alert_exactly_once(
    org: Organisation, team_a: Team, agent_a: User, supervisor_a: User
) -> None:
    now = timezone.now()
    conversations = [make_conversation(org, team=team_a, assignee=agent_a) for _ in range(6)]
    soon = [
        followup_create(
            conversation=conversations[i % 6],
            due_at=now + timedelta(minutes=5 + i),
            description=f"Reminder {i}",
            created_by=agent_a,
        )
        for i in range(15)
    ]
    late = [
        followup_create(
            conversation=conversations[i % 6],
            due_at=now - timedelta(minutes=1 + i),
            description=f"Overdue {i}",
            created_by=agent_a,
        )
        for i in range(15)
    ]
    barrier = threading.Barrier(2)
    reports = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            reports.append(followups_check(now=now))
        except BaseException as error:  # the main thread reports it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(reports) == 2

    reminded = [pk for report in reports for pk in report.reminded]
    overdue = [pk for report in reports for pk in report.overdue]
    assert sorted(reminded) == sorted(f.pk for f in soon)  # each exactly once between them
    assert sorted(overdue) == sorted(f.pk for f in late)
    assert Notification.objects.filter(kind="followup.reminder").count() == len(soon)
    # Overdue alerts go to the agent and the team's supervisor.
    assert Notification.objects.filter(kind="followup.overdue").count() == 2 * len(late)
    assert AuditEvent.objects.filter(action="followup.reminded").count() == len(soon)
    assert FollowUp.objects.filter(reminded_at__isnull=True, due_at__gt=now).count() == 0


def test_reply_send_turns_the_coachs_promises_into_followups(
    conversation,
    agent_a: User,  # type: ignore[no-untyped-def]
) -> None:
    from calmdesk.conversations.services import reply_send

    due = timezone.now() + timedelta(hours=5)
    message = reply_send(
        conversation=conversation,
        author=agent_a,
        body_text="I'll ring you this afternoon with the courier's answer.",
        coaching={
            "promises": [{"text": "I'll ring you this afternoon", "due_at": due.isoformat()}]
        },
    )
    followup = FollowUp.objects.get()
    assert (followup.promise_message, followup.due_at, followup.source) == (
        message,
        due,
        FollowUpSource.PROMISE,
    )
    # Nothing more is written to the customer: once due, it is overdue.
    assert followups_check(now=due + timedelta(seconds=1)).overdue == (followup.pk,)
