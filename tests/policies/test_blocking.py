"""Customers who cross the line: blocked identities, marked messages, automatic replies."""

from __future__ import annotations

import pytest

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Direction, Message
from calmdesk.conversations.services import inbound_message_receive
from calmdesk.customers.models import ContactIdentity
from calmdesk.incidents.models import Incident
from calmdesk.notifications.models import Notification
from calmdesk.policies.document import PolicyInvalid, default_policy_raw, policy_parse
from calmdesk.policies.models import BlockedMessage, BoundaryStep, ConversationState
from calmdesk.policies.selectors import identity_blocks
from calmdesk.policies.services import (
    BlockError,
    PolicyPermissionDenied,
    identity_block,
    identity_block_review,
    identity_unblock,
)

pytestmark = pytest.mark.django_db


class Sender:
    def __init__(self, org: Organisation, team: Team, handle: str = "stormy") -> None:
        self.org, self.team, self.handle = org, team, handle
        self.count = 0
        self.conversation_id: int | None = None

    def send(self, text: str):  # type: ignore[no-untyped-def]
        self.count += 1
        result = inbound_message_receive(
            organisation=self.org,
            channel="chat",
            external_id=f"{self.handle}-{self.count}",
            body_text=text,
            customer_handle=self.handle,
            conversation_id=self.conversation_id,
            team=self.team,
        )
        self.conversation_id = result.conversation.pk
        return result


@pytest.fixture
def blocked(org: Organisation, team_a: Team, agent_a: User):  # type: ignore[no-untyped-def]
    sender = Sender(org, team_a)
    sender.send("Hello, my meter reading is wrong.")
    identity = ContactIdentity.objects.get(value="stormy")
    block = identity_block(identity=identity, actor=agent_a, reason="Weeks of abusive messages.")
    return sender, block


def test_messages_from_a_blocked_identity_are_stored_marked_and_answered_once(
    blocked,
    agent_a: User,  # type: ignore[no-untyped-def]
) -> None:
    sender, _ = blocked
    first = sender.send("You are a useless idiot.")
    second = sender.send("Answer me, you incompetent moron.")

    # Nothing is dropped: both messages are stored and marked.
    assert first.created and second.created
    marks = BlockedMessage.objects.order_by("id")
    assert [m.message_id for m in marks] == [first.message.pk, second.message.pk]
    # One automatic reply saying how else to reach us, not one per message.
    replies = Message.objects.filter(
        conversation_id=sender.conversation_id, direction=Direction.OUTBOUND
    )
    assert replies.count() == 1
    assert "reach us by phone or by post" in replies.get().body_text
    assert marks[0].auto_reply == replies.get() and marks[1].auto_reply is None
    # The blocked contact is not walked up the ladder again.
    state = ConversationState.objects.filter(conversation_id=sender.conversation_id).first()
    assert state is None or state.boundary_step == BoundaryStep.NONE
    assert AuditEvent.objects.filter(action="policy.blocked_message_received").count() == 2


def test_a_threat_from_a_blocked_contact_still_escalates(
    blocked,
    supervisor_a: User,  # type: ignore[no-untyped-def]
) -> None:
    sender, _ = blocked
    sender.send("I know where your office is and I will hurt you.")
    assert Incident.objects.filter(kind="safety").count() == 1
    state = ConversationState.objects.get(conversation_id=sender.conversation_id)
    assert state.boundary_step == BoundaryStep.THREAT


def test_agent_block_asks_a_supervisor_to_review(
    supervisor_a: User,
    blocked,  # type: ignore[no-untyped-def]  # after supervisor_a: the review needs someone
    agent_a: User,
) -> None:
    _, block = blocked
    review = Notification.objects.get(kind="identity.block_review")
    assert review.recipient == supervisor_a
    with pytest.raises(PolicyPermissionDenied):
        identity_block_review(block=block, actor=agent_a)
    with pytest.raises(PolicyPermissionDenied):
        identity_unblock(block=block, actor=agent_a, reason="")
    identity_block_review(block=block, actor=supervisor_a)
    block.refresh_from_db()
    assert block.reviewed_by == supervisor_a
    assert list(identity_blocks(supervisor_a)) == [block]


def test_unblocking_keeps_history_and_the_ladder_applies_again(
    blocked,
    supervisor_a: User,  # type: ignore[no-untyped-def]
) -> None:
    sender, block = blocked
    identity_unblock(block=block, actor=supervisor_a, reason="Apologised by letter.")
    assert list(identity_blocks(supervisor_a)) == []
    assert list(identity_blocks(supervisor_a, active_only=False)) == [block]
    sender.send("You are a useless idiot.")
    assert not BlockedMessage.objects.exists()
    state = ConversationState.objects.get(conversation_id=sender.conversation_id)
    assert state.boundary_step == BoundaryStep.WARNED
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"identity.blocked", "identity.unblocked"} <= actions


def test_block_needs_a_reason_and_only_once(org: Organisation, team_a: Team, agent_a: User) -> None:
    Sender(org, team_a, "calm").send("Hi there")
    identity = ContactIdentity.objects.get(value="calm")
    with pytest.raises(BlockError, match="say why"):
        identity_block(identity=identity, actor=agent_a, reason="  ")
    identity_block(identity=identity, actor=agent_a, reason="Threats.")
    with pytest.raises(BlockError, match="already blocked"):
        identity_block(identity=identity, actor=agent_a, reason="Again.")


def test_staff_of_another_organisation_cannot_block(
    org: Organisation,
    other_org: Organisation,
    team_a: Team,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    Sender(org, team_a, "calm").send("Hi there")
    outsider = make_user("eve", role="admin", organisation=other_org)
    with pytest.raises(PolicyPermissionDenied):
        identity_block(
            identity=ContactIdentity.objects.get(value="calm"), actor=outsider, reason="x"
        )


def test_blocking_settings_are_validated() -> None:
    document = default_policy_raw()
    document["blocking"]["auto_reply_every_hours"] = -1
    with pytest.raises(PolicyInvalid, match="auto_reply_every_hours"):
        policy_parse(document)
    del document["blocking"]
    assert "another way" in policy_parse(document).blocking.auto_reply


def test_a_block_applies_to_the_identity_that_sent_the_message_not_the_customers_others(
    org: Organisation, team_a: Team, agent_a: User
) -> None:
    # One customer, two email addresses: the work one crossed the line, the home one not.
    def email(sender: str, external_id: str, text: str):  # type: ignore[no-untyped-def]
        return inbound_message_receive(
            organisation=org,
            channel="email",
            external_id=external_id,
            body_text=text,
            customer_email=sender,
            team=team_a,
        )

    first = email("vic@work.example", "<1@x>", "You lot are a disgrace, you useless idiots.")
    customer = first.customer
    home = email("vic@home.example", "<2@x>", "My meter reading is wrong.")
    assert first.message.sender is not None and first.message.sender.value == "vic@work.example"
    # The home address is attached to the customer it wrote as (the same person by merge).
    ContactIdentity.objects.filter(value="vic@home.example").update(customer=customer)

    identity_block(identity=first.message.sender, actor=agent_a, reason="Repeated insults.")
    from_work = email("vic@work.example", "<3@x>", "Answer me.")
    from_home = email("vic@home.example", "<4@x>", "Any news on the reading?")

    assert BlockedMessage.objects.filter(message=from_work.message).exists()
    assert not BlockedMessage.objects.filter(message=from_home.message).exists()
    assert from_home.message.sender is not None
    assert from_home.message.sender.value == "vic@home.example"
    assert home.message.sender_id == from_home.message.sender_id


def test_a_supervisors_own_block_needs_no_second_review(
    org: Organisation, team_a: Team, supervisor_a: User
) -> None:
    sender = Sender(org, team_a, handle="gale")
    sender.send("You are all useless idiots.")
    block = identity_block(
        identity=ContactIdentity.objects.get(value="gale"), actor=supervisor_a, reason="Abuse."
    )
    assert block.reviewed_by == supervisor_a and block.reviewed_at is not None
    assert not Notification.objects.filter(kind="identity.block_review").exists()
