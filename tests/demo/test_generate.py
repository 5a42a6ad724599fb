from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from calmdesk.accounts.models import Organisation, Role, User
from calmdesk.conversations.models import Conversation, Direction, Message, Status
from calmdesk.customers.models import Customer
from calmdesk.demo.generate import GenerateError, generate_bulk

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _snapshot(slug: str) -> list[tuple[Any, ...]]:
    """Everything about the generated data except database ids and the org's own names."""
    rows = []
    for conversation in Conversation.objects.filter(organisation__slug=slug).order_by("id"):
        thread = tuple(
            conversation.messages.order_by("id").values_list(
                "direction", "channel", "body_text", "created_at", "anger", "risk"
            )
        )
        rows.append(
            (
                conversation.subject,
                conversation.channel,
                conversation.status,
                conversation.priority,
                conversation.created_at,
                conversation.last_message_at,
                conversation.waiting_since,
                conversation.risk,
                conversation.topic,
                conversation.team.name if conversation.team else None,
                conversation.assignee.username.split("-", 1)[1] if conversation.assignee else None,
                thread,
            )
        )
    return rows


def test_generates_exactly_the_numbers_asked_for() -> None:
    summary = generate_bulk(conversations=50, messages=300, org_slug="gen", seed=3, now=NOW)
    organisation = Organisation.objects.get(slug="gen")
    assert summary.organisation == organisation
    assert Conversation.objects.filter(organisation=organisation).count() == 50
    assert Message.objects.filter(organisation=organisation).count() == 300
    assert Customer.objects.filter(organisation=organisation).count() == summary.customers > 0
    assert User.objects.filter(organisation=organisation, role=Role.ADMIN).exists()
    for conversation in Conversation.objects.filter(organisation=organisation):
        thread = list(conversation.messages.order_by("created_at", "id"))
        assert thread, "every conversation has at least one message"
        assert thread[0].direction == Direction.INBOUND
        assert thread[0].created_at == conversation.created_at
        assert all(m.created_at <= NOW for m in thread)
        assert conversation.peak_anger == max(m.anger for m in thread if m.direction == "inbound")
        if conversation.status in (Status.RESOLVED, Status.CLOSED):
            assert conversation.waiting_since is None and conversation.resolved_at is not None
    inbound = Message.objects.filter(organisation=organisation, direction=Direction.INBOUND)
    # Real engine readings, stored like the receive service stores them.
    assert inbound.filter(assessment__isnull=True).count() == 0
    assert set(inbound.first().assessment["scores"]) >= {"anger", "threat", "abuse", "churn"}
    assert inbound.values("external_id").distinct().count() == inbound.count()


def test_the_same_seed_gives_the_same_data() -> None:
    generate_bulk(conversations=30, messages=200, org_slug="one", seed=11, now=NOW)
    generate_bulk(conversations=30, messages=200, org_slug="two", seed=11, now=NOW)
    generate_bulk(conversations=30, messages=200, org_slug="three", seed=12, now=NOW)
    assert _snapshot("one") == _snapshot("two")
    assert _snapshot("one") != _snapshot("three")


def test_running_again_appends_without_clashing_ids() -> None:
    generate_bulk(conversations=20, messages=60, org_slug="gen", seed=1, now=NOW)
    generate_bulk(conversations=20, messages=60, org_slug="gen", seed=1, now=NOW)
    assert Conversation.objects.filter(organisation__slug="gen").count() == 40
    assert Message.objects.filter(organisation__slug="gen").count() == 120


@pytest.mark.parametrize(("conversations", "messages"), [(0, 10), (10, 5), (-1, 100)])
def test_impossible_numbers_are_refused(conversations: int, messages: int) -> None:
    with pytest.raises(GenerateError):
        generate_bulk(conversations=conversations, messages=messages, org_slug="gen", now=NOW)
    assert not Conversation.objects.exists()


def test_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from calmdesk.cli import main

    assert (
        main(
            [
                "generate",
                "--conversations",
                "12",
                "--messages",
                "40",
                "--org",
                "cli",
                "--no-migrate",
            ]
        )
        == 0
    )
    assert "12 conversations, 40 messages" in capsys.readouterr().out
    assert Message.objects.filter(organisation__slug="cli").count() == 40
    assert main(["generate", "--conversations", "12", "--messages", "4", "--no-migrate"]) == 2
