"""The agent workspace: inbox, conversation and customer pages.

Views only translate: they parse a form, call one selector or service, and
render. Every read goes through an `access_*` or scoped selector, so a
conversation of another team is a 404 exactly like a missing one.

HTMX requests (not boosted ones) get the page's partial instead of the whole
page; the same URLs work as plain links and forms without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from calmdesk.accounts.models import Role, Team, User
from calmdesk.accounts.time_zones import zone_or_none
from calmdesk.channels.downloads import attachment_response
from calmdesk.channels.selectors import (
    MachineMailRow,
    access_attachment,
    conversation_delivery_signature,
    conversation_machine_mail,
    delivery_signature,
    email_facts_for_messages,
    signature_since,
)
from calmdesk.conversations import coaching
from calmdesk.conversations.models import Conversation, Direction, Message
from calmdesk.conversations.selectors import (
    access_conversation,
    conversation_flag_kinds,
    conversation_messages,
    inbox_conversations,
    recent_dialogue,
    visible_conversations,
)
from calmdesk.conversations.services import (
    ConversationError,
    conversation_assign,
    conversation_set_priority,
    conversation_set_status,
    note_add,
    reply_send,
)
from calmdesk.customers.models import ContactIdentity, Customer
from calmdesk.customers.selectors import (
    CUSTOMER_ORDERS,
    access_customer,
    customer_activity,
    customer_by_reference,
    customer_current,
    customer_history,
    customers_ordered,
)
from calmdesk.customers.services import CustomerError, customer_merge, customer_update_notes
from calmdesk.followups.selectors import followup_list
from calmdesk.incidents.models import IncidentKind
from calmdesk.incidents.selectors import incident_on_record
from calmdesk.policies.models import IdentityBlock
from calmdesk.policies.selectors import active_blocks_by_identity, policy_panel
from calmdesk.workspace.forms import (
    SORT_CHOICES,
    AssignForm,
    CoachDraftForm,
    CustomerMergeForm,
    CustomerNotesForm,
    InboxFilterForm,
    NoteForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
)
from calmdesk.workspace.rendering import risk_chips

INBOX_PAGE_SIZE = 25
OTHER_CONVERSATIONS_SHOWN = 10
CUSTOMER_HISTORY_SHOWN = 100
CUSTOMER_SEARCH_SHOWN = 50
FOLLOWUPS_SHOWN = 20
# Messages of a thread on the conversation page; "show earlier" raises it to the maximum.
THREAD_SHOWN = 50
THREAD_MAX_SHOWN = 2000
# Auto-replies and bounces beside the thread: a storm of them must not bury the messages.
MACHINE_MAIL_SHOWN = 50


@dataclass(frozen=True)
class IdentityRow:
    """One of the customer's addresses or handles, with its block if it has one."""

    identity: ContactIdentity
    block: IdentityBlock | None


def _identity_rows(customer: Customer) -> list[IdentityRow]:
    identities = list(customer.identities.all())
    blocks = active_blocks_by_identity(identity.pk for identity in identities)
    return [
        IdentityRow(identity=identity, block=blocks.get(identity.pk)) for identity in identities
    ]


def _policy_context(conversation: Conversation, thread: list[Message]) -> dict[str, Any]:
    panel = policy_panel(conversation, thread)
    return {
        "policy": panel.state,
        "boundary_label": panel.boundary_label,
        "show_suggestion": panel.show_suggestion,
        "suggestion_reason": panel.suggestion_reason,
    }


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_partial(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


StaffView = Callable[..., HttpResponse]


def staff_view(view: StaffView) -> StaffView:
    """login_required that also hands the view its typed staff user.

    An HTMX request whose session has expired is sent to the login page as a
    whole page, not swapped into a fragment. Accounts outside any organisation
    (a bare `createsuperuser`) have no workspace.
    """

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            if request.htmx:
                login = reverse("workspace:login")
                return HttpResponseClientRedirect(
                    f"{login}?next={request.htmx.current_url_abs_path or '/'}"
                )
            return redirect_to_login(request.get_full_path())
        if user.organisation is None:
            raise PermissionDenied("This account does not belong to an organisation.")
        # Times on every page read in the organisation's own time zone.
        # No such zone: the server's default.
        with timezone.override(zone_or_none(user.organisation.time_zone)):
            return view(request, user, *args, **kwargs)

    return wrapper


# -- inbox --------------------------------------------------------------------


@require_GET
@staff_view
def inbox(request: HtmxHttpRequest, user: User) -> HttpResponse:
    organisation = user.organisation_id or 0  # staff_view let only members of one in
    teams = list(Team.objects.filter(organisation_id=organisation))
    staff = list(
        User.objects.filter(organisation_id=organisation, is_active=True).order_by(
            "first_name", "username"
        )
    )
    form = InboxFilterForm(request.GET, user=user, teams=teams, staff=staff)
    filters = form.filters()
    paginator = Paginator(inbox_conversations(user, filters), INBOX_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    conversations: list[Conversation] = list(page.object_list)
    flag_kinds = conversation_flag_kinds(c.pk for c in conversations)
    rows = [(c, risk_chips(flag_kinds.get(c.pk, ()))) for c in conversations]
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": rows,
        "sort_label": dict(SORT_CHOICES).get(filters.sort, ""),
    }
    template = "workspace/inbox.html"
    if wants_partial(request):
        template += "#inbox-list"
    return render(request, template, context)


# -- conversation ---------------------------------------------------------------


def _thread(conversation: Conversation, *, whole: bool) -> tuple[list[Message], int]:
    """The newest messages of the thread, oldest first, and how many older ones are hidden.

    A long thread (a year of back and forth) would make every page view and every poll
    render hundreds of messages; the agent needs the latest, and can ask for the rest.
    """
    limit = THREAD_MAX_SHOWN if whole else THREAD_SHOWN
    newest = list(
        conversation_messages(conversation)
        .select_related("sender", "blocked_mark")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    hidden = 0
    if len(newest) > limit:
        newest = newest[:limit]
        # Counted only for a thread longer than the page: short ones pay nothing.
        hidden = conversation.messages.count() - limit
    return list(reversed(newest)), hidden


def _machine_mail_placed(
    thread: list[Message], rows: list[MachineMailRow]
) -> tuple[list[MachineMailRow], dict[int, list[MachineMailRow]]]:
    """Auto-replies and bounces placed in the thread: those before its first message, and
    the rest under the message after which each arrived (both lists oldest first)."""
    before: list[MachineMailRow] = []
    after: dict[int, list[MachineMailRow]] = {}
    position = -1
    for row in rows:  # oldest first, like the thread
        while position + 1 < len(thread) and thread[position + 1].created_at <= row.received_at:
            position += 1
        if position < 0:
            before.append(row)
        else:
            after.setdefault(thread[position].pk, []).append(row)
    return before, after


def _conversation_context(
    request: HtmxHttpRequest,
    user: User,
    conversation: Conversation,
    **forms: Any,
) -> dict[str, Any]:
    whole_thread = request.GET.get("all") == "1"
    thread, hidden_messages = _thread(conversation, whole=whole_thread)
    customer = conversation.customer
    latest_inbound = next(
        (m for m in reversed(thread) if m.direction == Direction.INBOUND and m.assessment), None
    )
    escalation = (latest_inbound.assessment or {}).get("escalate") if latest_inbound else None
    facts = email_facts_for_messages(message.pk for message in thread)
    # One query; a thread cut short shows only the machine mail of the part it shows.
    machine_before, machine_after = _machine_mail_placed(
        thread,
        conversation_machine_mail(
            conversation,
            since=thread[0].created_at if hidden_messages and thread else None,
            limit=MACHINE_MAIL_SHOWN,
        ),
    )
    others = list(
        customer_history(user, customer).exclude(pk=conversation.pk)[:OTHER_CONVERSATIONS_SHOWN]
    )
    context: dict[str, Any] = {
        "conversation": conversation,
        "thread": thread,
        "hidden_messages": hidden_messages,
        "whole_thread": whole_thread,
        "customer": customer,
        "identities": _identity_rows(customer),
        "escalation": escalation if isinstance(escalation, dict) else None,
        "other_conversations": others,
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
        "assign_form": AssignForm(
            initial={"assignee": conversation.assignee_id},
            organisation_id=conversation.organisation_id,
        ),
        "status_form": StatusForm(initial={"status": conversation.status}),
        "priority_form": PriorityForm(initial={"priority": conversation.priority}),
        "followups": list(followup_list(user, conversation_id=conversation.pk)[:FOLLOWUPS_SHOWN]),
        "incident_kinds": IncidentKind.choices,
        "now": timezone.now(),
        "can_take_over": user.role in (Role.SUPERVISOR, Role.ADMIN)
        and conversation.assignee_id != user.pk,
        "can_step_away": conversation.assignee_id == user.pk,
        **_policy_context(conversation, thread),
        "playbook": coaching.playbook_for(
            thread,
            incident_recorded=incident_on_record(conversation.pk),
        ),
        "email_facts": facts,
        "machine_mail_before": machine_before,
        "machine_mail": machine_after,
        "delivery_signature": delivery_signature(facts, since_id=thread[0].pk if thread else 0),
    }
    context.update(forms)
    return context


@require_GET
@staff_view
def conversation_detail(request: HtmxHttpRequest, user: User, conversation_id: int) -> HttpResponse:
    """The conversation page; for HTMX, the thread, which the page polls for new messages.

    A poll names the newest message it shows (`after`) and the delivery state
    of the email replies it shows (`deliveries`); while there is nothing newer
    the answer is an empty 204, which HTMX leaves unswapped.
    """
    conversation = access_conversation(user, conversation_id)
    if wants_partial(request):
        after = request.GET.get("after", "")
        # Without `deliveries` (a page from before it existed), only new messages count.
        shown = request.GET.get("deliveries")
        unchanged = shown is None or shown == conversation_delivery_signature(
            conversation, since_id=signature_since(shown)
        )
        if (
            after.isdigit()
            and unchanged
            and not conversation.messages.filter(pk__gt=int(after)).exists()
        ):
            return HttpResponse(status=204)
        context = _conversation_context(request, user, conversation)
        return render(request, "workspace/conversation.html#thread", context)
    context = _conversation_context(request, user, conversation)
    return render(request, "workspace/conversation.html", context)


def _after_change(
    request: HtmxHttpRequest,
    user: User,
    conversation: Conversation,
    partial: str,
    notice: str,
) -> HttpResponse:
    """PRG for plain forms; for HTMX the updated fragments, swapped in place."""
    if wants_partial(request):
        context = _conversation_context(request, user, conversation, notice=notice)
        return render(request, f"workspace/conversation.html#{partial}", context)
    flash.success(request, notice)
    return redirect("workspace:conversation", conversation_id=conversation.pk)


def _invalid(request: HtmxHttpRequest, partial: str, context: dict[str, Any]) -> HttpResponse:
    if wants_partial(request):
        return render(request, f"workspace/conversation.html#{partial}", context)
    return render(request, "workspace/conversation.html", context, status=400)


@require_POST
@staff_view
def conversation_reply(request: HtmxHttpRequest, user: User, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    form = ReplyForm(request.POST)
    review: coaching.DraftReview | None = None  # set once the form is valid
    if form.is_valid():
        body = form.cleaned_data["body"]
        review = coaching.review_draft(
            body,
            recent_dialogue(conversation),
            time_zone=conversation.organisation.time_zone,
        )
        if review.blocking and not form.cleaned_data["confirm_blocking"]:
            form.add_error(
                "confirm_blocking",
                "This reply has findings that should stop it being sent. "
                "Change it, or tick the box to confirm you want to send it as it is.",
            )
        else:
            try:
                reply_send(
                    conversation=conversation,
                    author=user,
                    body_text=body,
                    coaching=review.stored if review is not None else None,
                )
            except ConversationError as exc:
                form.add_error("body", str(exc))
    if form.errors:
        context = _conversation_context(request, user, conversation, reply_form=form, review=review)
        return _invalid(request, "reply-box", context)
    return _after_change(request, user, conversation, "reply-response", "Reply sent.")


@require_POST
@staff_view
def conversation_note(request: HtmxHttpRequest, user: User, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_add(conversation=conversation, author=user, body_text=form.cleaned_data["body"])
        except ConversationError as exc:
            form.add_error("body", str(exc))
    if form.errors:
        context = _conversation_context(request, user, conversation, note_form=form)
        return _invalid(request, "note-box", context)
    return _after_change(request, user, conversation, "note-response", "Note added.")


def _still_visible_or_inbox(
    request: HtmxHttpRequest, user: User, conversation: Conversation
) -> HttpResponse | None:
    """After a hand-over the agent may no longer see the case; send them back to the inbox."""
    if visible_conversations(user).filter(pk=conversation.pk).exists():
        return None
    flash.info(request, f"“{conversation}” was handed over and has left your queues.")
    inbox_url = reverse("workspace:inbox")
    if request.htmx:
        return HttpResponseClientRedirect(inbox_url)
    return HttpResponseRedirect(inbox_url)


@require_POST
@staff_view
def conversation_assign_view(
    request: HtmxHttpRequest, user: User, conversation_id: int
) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    if request.POST.get("to_me"):
        form = AssignForm({"assignee": user.pk}, organisation_id=conversation.organisation_id)
    else:
        form = AssignForm(request.POST, organisation_id=conversation.organisation_id)
    if form.is_valid():
        try:
            conversation_assign(
                conversation=conversation,
                actor=user,
                assignee=form.cleaned_data["assignee"],
                team=form.cleaned_data["team"],
            )
        except ConversationError as exc:
            form.add_error(None, str(exc))
    if form.errors:
        context = _conversation_context(request, user, conversation, assign_form=form)
        return _invalid(request, "controls", context)
    gone = _still_visible_or_inbox(request, user, conversation)
    if gone is not None:
        return gone
    conversation = access_conversation(user, conversation_id)
    return _after_change(request, user, conversation, "controls", "Assignment updated.")


@require_POST
@staff_view
def conversation_status(request: HtmxHttpRequest, user: User, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            conversation_set_status(
                conversation=conversation, actor=user, status=form.cleaned_data["status"]
            )
        except ConversationError as exc:
            form.add_error("status", str(exc))
    if form.errors:
        context = _conversation_context(request, user, conversation, status_form=form)
        return _invalid(request, "controls", context)
    notice = f"Status set to {conversation.get_status_display().lower()}."
    return _after_change(request, user, conversation, "controls", notice)


@require_POST
@staff_view
def conversation_priority(
    request: HtmxHttpRequest, user: User, conversation_id: int
) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    form = PriorityForm(request.POST)
    if form.is_valid():
        try:
            conversation_set_priority(
                conversation=conversation, actor=user, priority=form.cleaned_data["priority"]
            )
        except ConversationError as exc:
            form.add_error("priority", str(exc))
    if form.errors:
        context = _conversation_context(request, user, conversation, priority_form=form)
        return _invalid(request, "controls", context)
    notice = f"Priority set to {conversation.get_priority_display().lower()}."
    return _after_change(request, user, conversation, "controls", notice)


@require_POST
@staff_view
def conversation_coach(request: HtmxHttpRequest, user: User, conversation_id: int) -> HttpResponse:
    """The live coach: the draft so far, reviewed against the conversation. Never stores."""
    conversation = access_conversation(user, conversation_id)
    form = CoachDraftForm(request.POST)
    draft = form.cleaned_data["body"] if form.is_valid() else ""
    review = coaching.review_draft(
        draft, recent_dialogue(conversation), time_zone=conversation.organisation.time_zone
    )
    context = {
        "conversation": conversation,
        "review": review,
        "reply_form": ReplyForm(),
    }
    return render(request, "workspace/conversation.html#coach-panel", context)


@require_GET
@staff_view
def attachment_download(request: HtmxHttpRequest, user: User, attachment_id: int) -> HttpResponse:
    """An email attachment as a download, for whoever may see its conversation (else 404)."""
    return attachment_response(access_attachment(user, attachment_id))


# -- customers --------------------------------------------------------------------


@require_GET
@staff_view
def customer_list(request: HtmxHttpRequest, user: User) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    order = request.GET.get("order", "name")
    if order not in CUSTOMER_ORDERS:
        order = "name"
    customers = customers_ordered(user, query, order=order, limit=CUSTOMER_SEARCH_SHOWN)
    activity = customer_activity(user, [customer.pk for customer in customers])
    return render(
        request,
        "workspace/customers.html",
        {
            "query": query,
            "order": order,
            "orders": CUSTOMER_ORDERS.items(),
            "rows": [(customer, activity.get(customer.pk)) for customer in customers],
            "shown": CUSTOMER_SEARCH_SHOWN,
        },
    )


def _customer_context(user: User, customer_id: int, **forms: Any) -> dict[str, Any]:
    customer = access_customer(user, customer_id)
    context: dict[str, Any] = {
        "customer": customer,
        "identities": _identity_rows(customer),
        "history": list(customer_history(user, customer)[:CUSTOMER_HISTORY_SHOWN]),
        "notes_form": CustomerNotesForm(initial={"notes": customer.notes}),
        "merge_form": CustomerMergeForm(),
    }
    context.update(forms)
    return context


@require_GET
@staff_view
def customer_detail(request: HtmxHttpRequest, user: User, customer_id: int) -> HttpResponse:
    merged = Customer.objects.filter(
        organisation_id=user.organisation_id or 0, pk=customer_id, merged_into__isnull=False
    ).first()
    if merged is not None:
        # A merged record lives on in the one it joined; old links lead there.
        return redirect("workspace:customer", customer_id=customer_current(merged).pk)
    return render(request, "workspace/customer.html", _customer_context(user, customer_id))


@require_POST
@staff_view
def customer_merge_view(request: HtmxHttpRequest, user: User, customer_id: int) -> HttpResponse:
    """Fold a duplicate record (found by number, address or handle) into this customer."""
    target = access_customer(user, customer_id)
    form = CustomerMergeForm(request.POST)
    if form.is_valid():
        source = customer_by_reference(user, form.cleaned_data["duplicate"])
        if source is None:
            form.add_error(
                "duplicate", "No customer you can see has that number, address or handle."
            )
        else:
            try:
                customer_merge(source=source, target=target, actor=user)
            except CustomerError as error:
                form.add_error("duplicate", str(error))
            else:
                flash.success(
                    request,
                    f"{source} is now part of {target}: their conversations and contact details moved here.",
                )
                return redirect("workspace:customer", customer_id=target.pk)
    context = _customer_context(user, customer_id, merge_form=form)
    return render(request, "workspace/customer.html", context, status=400)


@require_POST
@staff_view
def customer_notes(request: HtmxHttpRequest, user: User, customer_id: int) -> HttpResponse:
    customer = access_customer(user, customer_id)
    form = CustomerNotesForm(request.POST)
    if not form.is_valid():
        context = _customer_context(user, customer_id, notes_form=form)
        if wants_partial(request):
            return render(request, "workspace/customer.html#customer-notes", context)
        return render(request, "workspace/customer.html", context, status=400)
    customer_update_notes(customer=customer, notes=form.cleaned_data["notes"], actor=user)
    if wants_partial(request):
        context = _customer_context(user, customer_id, notes_saved=True)
        return render(request, "workspace/customer.html#customer-notes", context)
    flash.success(request, "Notes saved.")
    return redirect("workspace:customer", customer_id=customer.pk)
