"""calmdesk's JSON API (django-ninja), mounted at /api/v1/.

Endpoints only translate: parse the request, call one service or selector,
shape the answer. Every endpoint needs `Authorization: Bearer <token>`; the
token acts as its staff user, whose role and teams decide what it may see,
exactly as in the web app. Any active staff member of an organisation
(agent, supervisor or admin) may inject inbound messages for that
organisation, so a channel integration can run on a token of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query, Router, Status
from ninja.parser import Parser

from calmdesk.accounts.models import Role
from calmdesk.api.auth import BearerTokenAuth, request_user
from calmdesk.api.errors import (
    ApiError,
    decode_json_body,
    error_response,
    install_error_handlers,
)
from calmdesk.api.schemas import (
    AssessIn,
    AssessmentOut,
    CoachIn,
    CoachingOut,
    ConversationOut,
    ConversationPageOut,
    ConversationQuery,
    ConversationSummaryOut,
    CustomerOut,
    FollowUpOut,
    FollowUpPageOut,
    FollowUpQuery,
    InboundIn,
    InboundOut,
    IncidentOut,
    IncidentPageOut,
    IncidentQuery,
    MessageOut,
    ObjectId,
    ReplyIn,
)
from calmdesk.api.views.channels import router as channels_router
from calmdesk.api.views.common import (
    ALL_METHODS,
    READ_ERRORS,
    WRITE_ERRORS,
    refuse_other_methods,
)
from calmdesk.channels.selectors import email_facts_for_messages
from calmdesk.conversations.coaching import review_draft
from calmdesk.conversations.reading import history_for
from calmdesk.conversations.selectors import (
    InboxFilters,
    access_conversation,
    check_conversation_access,
    conversation_messages,
    inbox_conversations,
    recent_dialogue,
)
from calmdesk.conversations.services import inbound_message_receive, reply_send
from calmdesk.customers.selectors import access_customer, customer_history
from calmdesk.engine import assess as engine_assess
from calmdesk.engine.coaching import playbook as engine_playbook
from calmdesk.followups.selectors import followup_list
from calmdesk.incidents.selectors import IncidentFilters, incident_list
from calmdesk.policies.selectors import policy_state


class JsonBodyParser(Parser):
    """Strict JSON: invalid UTF-8 and malformed documents are refused with a precise 400."""

    def parse_body(self, request: HttpRequest) -> Any:
        return decode_json_body(request.body)


def _query_parameter_names(run: Callable[..., HttpResponse]) -> frozenset[str] | None:
    """The query parameters the operation behind `run` declares (ninja keeps them per model).

    None for the hidden catch-all operations (405, unknown path): they take any query.
    """
    operation = getattr(run, "__self__", None)
    if not getattr(operation, "include_in_schema", True):
        return None
    names: set[str] = set()
    for model in getattr(operation, "models", ()):
        if getattr(model, "__ninja_param_source__", None) == "query":
            names.update(getattr(model, "__ninja_flatten_map__", None) or model.model_fields)
    return frozenset(names)


def guard_request(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Checks made before authentication and parsing.

    Bodies over CALMDESK_MAX_BODY_BYTES are refused with 413: the declared
    Content-Length first, so nothing is read, then the body actually received.
    Unknown query parameters are refused with 422, as unknown body fields are:
    a misspelt filter must not silently return everything.
    """
    known_query = _query_parameter_names(run)
    # An operation that reads its own body (raw email) names its own limit and
    # enforces it while reading; its body must not be buffered here first.
    view = getattr(getattr(run, "__self__", None), "view_func", None)
    own_limit: Callable[[], int] | None = getattr(view, "request_body_limit", None)

    @functools.wraps(run)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit: int = own_limit() if own_limit is not None else settings.CALMDESK_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            declared_bytes = int(declared)
        except ValueError:
            return error_response(400, "bad_request", "the Content-Length header is not a number")
        too_big = f"the request body is larger than the {limit} bytes allowed"
        if declared_bytes > limit:
            return error_response(413, "payload_too_large", too_big)
        if declared_bytes < 0:
            return error_response(400, "bad_request", "the Content-Length header is negative")
        if own_limit is None and len(request.body) > limit:
            return error_response(413, "payload_too_large", too_big)
        unknown = [] if known_query is None else sorted(set(request.GET) - known_query)
        if unknown:
            details = [
                {"loc": ["query", name], "message": "unknown parameter", "type": "extra_forbidden"}
                for name in unknown
            ]
            listed = ", ".join(repr(name) for name in unknown[:5])
            # Saying what is accepted saves a trip to the schema.
            accepted = ", ".join(sorted(known_query or ())) or "none"
            return error_response(
                422,
                "validation_error",
                f"unknown query parameter(s): {listed}; accepted: {accepted}",
                details,
            )
        return run(request, *args, **kwargs)

    return guarded


api = NinjaAPI(
    title="calmdesk API",
    version="1",
    description=(
        "The JSON API of calmdesk. Authenticate with `Authorization: Bearer <token>` "
        "(create one with `calmdesk token create --user NAME`). A token acts as its "
        "staff user and sees what that user sees in the web app: admins the whole "
        "organisation, supervisors their teams and their agents' work, agents their teams, "
        "their own conversations and the unassigned queue. Any active staff member "
        "(agent, supervisor or admin) may post inbound messages and raw emails for their "
        "organisation; webhook subscriptions and chat settings are for admins only (403 "
        "for others). A user without an organisation gets 403. Errors are always "
        '`{"error": {"code": ..., "message": ..., "details"?: [...]}}`: 400 invalid '
        "UTF-8 or JSON, 401 missing/unknown/revoked token, 403, 404 (also for what the "
        "token may not see), 405, 409 conversation of another customer, 413 body over "
        "CALMDESK_MAX_BODY_BYTES (raw emails: CALMDESK_API_MAX_EMAIL_BYTES), 415 a raw email "
        "in neither message/rfc822 nor JSON, 422 schema violations (unknown fields and query "
        "parameters, wrong types, empty text)."
    ),
    auth=BearerTokenAuth(),
    parser=JsonBodyParser(),
    openapi_url="/openapi.json",
    # ninja's docs page loads Swagger UI from a CDN; calmdesk serves nothing from one.
    docs_url=None,
    urls_namespace="api-v1",
)
api.add_decorator(guard_request, mode="view")
install_error_handlers(api)


@api.post(
    "/inbound",
    response={200: InboundOut, 201: InboundOut, **WRITE_ERRORS},
    summary="Receive a customer's message (idempotent on channel + external_id)",
    tags=["messages"],
)
def inbound(request: HttpRequest, payload: InboundIn) -> HttpResponse:
    """Store a message from a customer and return the engine's assessment of it.

    The first delivery answers 201; any later delivery with the same channel and
    external_id answers 200 with the same ids and stores nothing new.
    """
    user = request_user(request)
    if payload.conversation_id is not None and user.role != Role.ADMIN:
        # 404 for conversations the token may not see, as everywhere else. An admin sees
        # the whole organisation: receive's own locked read of the conversation checks
        # that (ConversationNotFound, also a 404), so an admin's token skips this query.
        check_conversation_access(user, payload.conversation_id)
    result = inbound_message_receive(
        organisation=user.organisation,  # type: ignore[arg-type]
        channel=payload.channel,
        external_id=payload.external_id,
        body_text=payload.body,
        customer_email=payload.customer.email,
        customer_handle=payload.customer.handle,
        customer_name=payload.customer.name,
        subject=payload.subject,
        conversation_id=payload.conversation_id,
    )
    # InboundOut's fields, rendered straight away: ninja's validation and dump of the answer
    # (ids, a flag and the engine's dict as stored) cost ~0.1 ms of every ingest request.
    answer: dict[str, object] = {
        "conversation_id": result.conversation.pk,
        "message_id": result.message.pk,
        "customer_id": result.customer.pk,
        "created": result.created,
        "assessment": result.message.assessment,
    }
    return api.create_response(request, answer, status=201 if result.created else 200)


@api.get(
    "/conversations",
    response={200: ConversationPageOut, **READ_ERRORS},
    summary="List the conversations the token may see",
    tags=["conversations"],
)
def conversations(request: HttpRequest, filters: Query[ConversationQuery]) -> ConversationPageOut:
    """Open conversations by default (`status=all` for every one), most at risk first."""
    inbox_filters = InboxFilters(
        status=filters.status,
        team_id=filters.team,
        assignee_id=filters.assignee,
        unassigned=filters.unassigned,
        customer_id=filters.customer,
        sort=filters.sort,
    )
    found = inbox_conversations(request_user(request), inbox_filters)
    return ConversationPageOut(
        total=found.count(),
        limit=filters.limit,
        offset=filters.offset,
        items=[
            ConversationSummaryOut.build(c)
            for c in found[filters.offset : filters.offset + filters.limit]
        ],
    )


@api.get(
    "/conversations/{conversation_id}",
    response={200: ConversationOut, **READ_ERRORS},
    summary="One conversation with its messages and the engine's reading of each",
    tags=["conversations"],
)
def conversation(request: HttpRequest, conversation_id: ObjectId) -> ConversationOut:
    """With the policy's actions (escalation, boundary step) and the playbook's state."""
    user = request_user(request)
    found = access_conversation(user, conversation_id)
    messages = list(conversation_messages(found))
    recorded = incident_list(user, IncidentFilters(status="all", conversation_id=found.pk))
    state = engine_playbook(history_for(messages), incident_recorded=recorded.exists())
    return ConversationOut.build_with_messages(
        found,
        messages,
        policy=policy_state(found),
        playbook=state.to_dict(),
        facts=email_facts_for_messages(message.pk for message in messages),
    )


@api.post(
    "/conversations/{conversation_id}/replies",
    response={201: MessageOut, **WRITE_ERRORS},
    summary="Send a reply to the customer",
    tags=["conversations"],
)
def reply(request: HttpRequest, conversation_id: ObjectId, payload: ReplyIn) -> Status[MessageOut]:
    """Send a reply. It is coached first and the coaching is stored with it; a reply the
    coach blocks (an insult, a threat, another customer's data) needs
    `"confirm_blocking": true`, otherwise 422 with code `confirmation_required`."""
    user = request_user(request)
    found = access_conversation(user, conversation_id)
    # Coached exactly as stored (the service trims), so the stored spans fit the text.
    body = payload.body.strip()
    review = review_draft(body, recent_dialogue(found), time_zone=found.organisation.time_zone)
    if review.blocking and not payload.confirm_blocking:
        rules = sorted({str(finding.get("rule")) for finding in review.blocking})
        raise ApiError(
            422,
            "confirmation_required",
            f"the coach blocks this reply ({', '.join(rules)}): change it, or send it "
            'again with "confirm_blocking": true',
        )
    message = reply_send(
        conversation=found,
        author=user,
        body_text=body,
        coaching=review.stored,
    )
    facts = email_facts_for_messages([message.pk]).get(message.pk)
    return Status(201, MessageOut.build(message, facts))


@api.get(
    "/customers/{customer_id}",
    response={200: CustomerOut, **READ_ERRORS},
    summary="A customer with identities, notes and the conversations the token may see",
    tags=["customers"],
)
def customer(request: HttpRequest, customer_id: ObjectId) -> CustomerOut:
    user = request_user(request)
    found = access_customer(user, customer_id)
    return CustomerOut.build(found, list(customer_history(user, found)))


@api.get(
    "/incidents",
    response={200: IncidentPageOut, **READ_ERRORS},
    summary="List the incidents the token may see (not closed ones by default)",
    tags=["incidents"],
)
def incidents(request: HttpRequest, filters: Query[IncidentQuery]) -> IncidentPageOut:
    found = incident_list(
        request_user(request),
        IncidentFilters(
            kind=filters.kind,
            status=filters.status,
            conversation_id=filters.conversation,
            customer_id=filters.customer,
        ),
    ).select_related("opened_by")
    return IncidentPageOut(
        total=found.count(),
        limit=filters.limit,
        offset=filters.offset,
        items=[
            IncidentOut.build(incident)
            for incident in found[filters.offset : filters.offset + filters.limit]
        ],
    )


@api.get(
    "/followups",
    response={200: FollowUpPageOut, **READ_ERRORS},
    summary="List follow-ups on the conversations the token may see, soonest due first",
    tags=["followups"],
)
def followups(request: HttpRequest, filters: Query[FollowUpQuery]) -> FollowUpPageOut:
    found = followup_list(
        request_user(request), overdue=filters.overdue, conversation_id=filters.conversation
    )
    now = timezone.now()
    return FollowUpPageOut(
        total=found.count(),
        limit=filters.limit,
        offset=filters.offset,
        items=[
            FollowUpOut.build(followup, now=now)
            for followup in found[filters.offset : filters.offset + filters.limit]
        ],
    )


@api.post(
    "/assess",
    response={200: AssessmentOut, **WRITE_ERRORS},
    summary="Assess a customer message without storing anything",
    tags=["engine"],
)
def assess(request: HttpRequest, payload: AssessIn) -> AssessmentOut:
    """`history` holds the earlier messages of the conversation, oldest first."""
    request_user(request)
    history = [(item.role, item.text) for item in payload.history]
    return AssessmentOut.model_validate(engine_assess(payload.text, history=history).to_dict())


@api.post(
    "/coach",
    response={200: CoachingOut, **WRITE_ERRORS},
    summary="Coach a draft reply without sending or storing it",
    tags=["engine"],
)
def coach(request: HttpRequest, payload: CoachIn) -> CoachingOut:
    """With `conversation_id` the draft is coached as the next reply in that conversation
    (404 if the token may not see it); promises are resolved in the organisation's time zone."""
    user = request_user(request)
    thread = []
    if payload.conversation_id is not None:
        thread = recent_dialogue(access_conversation(user, payload.conversation_id))
    review = review_draft(
        payload.draft,
        thread,
        time_zone=user.organisation.time_zone,  # type: ignore[union-attr]
    )
    return CoachingOut.model_validate(review.stored)


for _path, _allowed in (
    ("/inbound", ("POST",)),
    ("/conversations", ("GET",)),
    ("/conversations/{conversation_id}", ("GET",)),
    ("/conversations/{conversation_id}/replies", ("POST",)),
    ("/customers/{customer_id}", ("GET",)),
    ("/incidents", ("GET",)),
    ("/followups", ("GET",)),
    ("/assess", ("POST",)),
    ("/coach", ("POST",)),
):
    refuse_other_methods(api.default_router, _path, _allowed)


api.add_router("", channels_router)

# Last of all, so that it answers only paths no router has.
fallback = Router()


@fallback.api_operation(list(ALL_METHODS), "/{path:unknown}", auth=None, include_in_schema=False)
def unknown_path(request: HttpRequest, unknown: str) -> HttpResponse:
    raise Http404(f"there is no API endpoint at /api/v1/{unknown}")


api.add_router("", fallback)


__all__ = ["ApiError", "api"]
