"""The supervisor's side in the web UI: dashboard, incidents, follow-ups, policy.

Views only translate: parse a form, call one selector or service, render. Reads go
through scoped selectors and `access_*`, so another team's incident is a 404 exactly
like a missing one; role checks live in the services and surface here as 403s.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calmdesk.accounts.models import Role, User
from calmdesk.conversations.selectors import access_conversation
from calmdesk.customers.models import ContactIdentity
from calmdesk.followups.models import FollowUp
from calmdesk.followups.selectors import followup_list, visible_followups
from calmdesk.followups.services import FollowUpError, followup_close, followup_create
from calmdesk.incidents.models import IncidentKind, IncidentStatus
from calmdesk.incidents.selectors import access_incident, incident_list
from calmdesk.incidents.services import (
    STATUS_ORDER,
    IncidentError,
    IncidentPermissionDenied,
    incident_action_add,
    incident_note_add,
    incident_open,
    incident_record_update,
    incident_transition,
)
from calmdesk.notifications.selectors import user_notifications
from calmdesk.notifications.services import notification_mark_read, notifications_mark_all_read
from calmdesk.policies.document import policy_parse
from calmdesk.policies.models import Policy
from calmdesk.policies.selectors import identity_blocks, policy_history
from calmdesk.policies.services import (
    BlockError,
    PolicyPermissionDenied,
    conversation_step_away,
    conversation_take_over,
    identity_block,
    identity_block_review,
    identity_unblock,
    policy_raw_get,
    policy_update,
)
from calmdesk.supervision.forms import (
    ActionForm,
    FollowUpCloseForm,
    FollowUpForm,
    IncidentFilterForm,
    NoteForm,
    PolicyForm,
    RecordForm,
    TransitionForm,
)
from calmdesk.supervision.policy_editor import editor_from_document, validate_posted_policy
from calmdesk.supervision.selectors import dashboard_for
from calmdesk.workspace.views import HtmxHttpRequest, staff_view, wants_partial

LIST_ROWS = 200


def _require_lead(user: User) -> None:
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("The supervisor dashboard is for supervisors and admins.")


# -- dashboard -----------------------------------------------------------------------


@require_GET
@staff_view
def dashboard(request: HtmxHttpRequest, user: User) -> HttpResponse:
    _require_lead(user)
    template = "supervision/dashboard.html"
    if wants_partial(request):
        template += "#dashboard-panels"
    return render(
        request,
        template,
        {
            "board": dashboard_for(user),
            "now": timezone.now(),
            # Every fresh case starts with these; on a list of escalations they only repeat.
            "generic_first_steps": ("composure", "vent"),
        },
    )


# -- incidents -----------------------------------------------------------------------


@require_GET
@staff_view
def incidents(request: HtmxHttpRequest, user: User) -> HttpResponse:
    form = IncidentFilterForm(request.GET)
    rows = list(incident_list(user, form.filters())[:LIST_ROWS])
    return render(request, "supervision/incident_list.html", {"form": form, "incidents": rows})


def _next_statuses(status: str) -> list[tuple[str, str]]:
    if status == IncidentStatus.CLOSED:
        return [(IncidentStatus.OPEN, "Reopen")]
    later = STATUS_ORDER[STATUS_ORDER.index(status) + 1 :]
    return [(s, IncidentStatus(s).label) for s in later]


@require_GET
@staff_view
def incident_detail(request: HtmxHttpRequest, user: User, incident_id: int) -> HttpResponse:
    incident = access_incident(user, incident_id)
    can_work = user.role in (Role.SUPERVISOR, Role.ADMIN)
    context = {
        "incident": incident,
        "notes": list(incident.notes.select_related("author")),
        "actions": list(incident.actions.select_related("created_by")),
        "can_work": can_work,
        "statuses": IncidentStatus.choices,
        "next_statuses": _next_statuses(incident.status) if can_work else [],
        "record_form": RecordForm(
            initial={"summary": incident.summary, "outcome": incident.outcome}
        ),
        "note_form": NoteForm(),
        "action_form": ActionForm(),
        "transition_form": TransitionForm(),
    }
    return render(request, "supervision/incident_detail.html", context)


def _incident_post(
    request: HtmxHttpRequest, user: User, incident_id: int, form_class: type, act: object
) -> HttpResponse:
    incident = access_incident(user, incident_id)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                flash.error(request, error)
        return redirect("supervision:incident", incident_id=incident.pk)
    try:
        act(incident, form.cleaned_data)  # type: ignore[operator]
    except IncidentPermissionDenied as denied:
        raise PermissionDenied(str(denied)) from denied
    except IncidentError as error:
        flash.error(request, str(error))
    return redirect("supervision:incident", incident_id=incident.pk)


@require_POST
@staff_view
def incident_transition_view(
    request: HtmxHttpRequest, user: User, incident_id: int
) -> HttpResponse:
    def act(incident, data):  # type: ignore[no-untyped-def]
        incident_transition(incident=incident, actor=user, status=data["status"], note=data["note"])
        flash.success(request, f"Incident marked {IncidentStatus(data['status']).label.lower()}.")

    return _incident_post(request, user, incident_id, TransitionForm, act)


@require_POST
@staff_view
def incident_note_view(request: HtmxHttpRequest, user: User, incident_id: int) -> HttpResponse:
    def act(incident, data):  # type: ignore[no-untyped-def]
        incident_note_add(incident=incident, actor=user, body=data["body"])

    return _incident_post(request, user, incident_id, NoteForm, act)


@require_POST
@staff_view
def incident_record_view(request: HtmxHttpRequest, user: User, incident_id: int) -> HttpResponse:
    def act(incident, data):  # type: ignore[no-untyped-def]
        incident_record_update(
            incident=incident, actor=user, summary=data["summary"], outcome=data["outcome"]
        )
        flash.success(request, "Record saved.")

    return _incident_post(request, user, incident_id, RecordForm, act)


@require_POST
@staff_view
def incident_action_view(request: HtmxHttpRequest, user: User, incident_id: int) -> HttpResponse:
    def act(incident, data):  # type: ignore[no-untyped-def]
        incident_action_add(incident=incident, actor=user, description=data["description"])

    return _incident_post(request, user, incident_id, ActionForm, act)


@require_POST
@staff_view
def conversation_report(request: HtmxHttpRequest, user: User, conversation_id: int) -> HttpResponse:
    """An agent reports an incident from a conversation; the record is drafted for them."""
    conversation = access_conversation(user, conversation_id)
    kind = request.POST.get("kind", IncidentKind.COMPLAINT)
    reason = (request.POST.get("reason") or "").strip()[:200] or "Reported by the agent."
    if kind not in IncidentKind.values:
        flash.error(request, "Choose a kind of incident.")
        return redirect("workspace:conversation", conversation_id=conversation.pk)
    incident = incident_open(conversation=conversation, kind=kind, reason=reason, opened_by=user)
    flash.success(request, "Incident drafted from the conversation: please complete the record.")
    return redirect("supervision:incident", incident_id=incident.pk)


# -- protecting the agent ------------------------------------------------------------


@require_POST
@staff_view
def conversation_take_over_view(
    request: HtmxHttpRequest, user: User, conversation_id: int
) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    try:
        conversation_take_over(conversation=conversation, supervisor=user)
    except PolicyPermissionDenied as denied:
        raise PermissionDenied(str(denied)) from denied
    flash.success(request, "You have taken over this conversation.")
    return redirect("workspace:conversation", conversation_id=conversation.pk)


@require_POST
@staff_view
def conversation_step_away_view(
    request: HtmxHttpRequest, user: User, conversation_id: int
) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    try:
        conversation_step_away(conversation=conversation, agent=user)
    except PolicyPermissionDenied as denied:
        raise PermissionDenied(str(denied)) from denied
    flash.success(request, "You have stepped away; a supervisor will pick this conversation up.")
    return redirect("workspace:inbox")


# -- follow-ups ----------------------------------------------------------------------


@require_GET
@staff_view
def followups(request: HtmxHttpRequest, user: User) -> HttpResponse:
    overdue = request.GET.get("overdue") in {"1", "true", "on"}
    show_all = not overdue and request.GET.get("all") in {"1", "true", "on"}
    rows = list(
        followup_list(
            user, overdue=overdue, open_only=not show_all, newest_first=show_all
        ).select_related("conversation__customer", "conversation__assignee")[:LIST_ROWS]
    )
    context = {
        "followups": rows,
        "overdue": overdue,
        "show_all": show_all,
        "now": timezone.now(),
    }
    return render(request, "supervision/followup_list.html", context)


@require_POST
@staff_view
def followup_add(request: HtmxHttpRequest, user: User, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(user, conversation_id)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            followup_create(
                conversation=conversation,
                due_at=form.cleaned_data["due_at"],
                description=form.cleaned_data["description"],
                created_by=user,
            )
            flash.success(request, "Follow-up added.")
        except FollowUpError as error:
            flash.error(request, str(error))
    else:
        flash.error(request, "A follow-up needs a due time and a description.")
    return redirect("workspace:conversation", conversation_id=conversation.pk)


@require_POST
@staff_view
def followup_close_view(request: HtmxHttpRequest, user: User, followup_id: int) -> HttpResponse:
    followup: FollowUp | None = visible_followups(user).filter(pk=followup_id).first()
    if followup is None:
        raise Http404("No such follow-up.")
    form = FollowUpCloseForm(request.POST)
    if form.is_valid():
        followup_close(followup=followup, actor=user, state=form.cleaned_data["state"])
    target = reverse("supervision:followups")
    # Back to the list the agent came from (only this one flag, never a free URL).
    return redirect(f"{target}?overdue=1" if request.POST.get("overdue") == "1" else target)


# -- notifications -------------------------------------------------------------------


@require_GET
@staff_view
def notifications(request: HtmxHttpRequest, user: User) -> HttpResponse:
    rows = list(user_notifications(user)[:LIST_ROWS])
    unread = user_notifications(user, unread_only=True).count()
    return render(
        request, "supervision/notifications.html", {"notifications": rows, "unread": unread}
    )


@require_POST
@staff_view
def notification_read(request: HtmxHttpRequest, user: User, notification_id: int) -> HttpResponse:
    # Only the user's own: anyone else's is "no such notification".
    notification = user_notifications(user).filter(pk=notification_id).first()
    if notification is None:
        raise Http404("No such notification.")
    notification_mark_read(notification=notification, user=user)
    return redirect("supervision:notifications")


@require_POST
@staff_view
def notifications_read_all(request: HtmxHttpRequest, user: User) -> HttpResponse:
    marked = notifications_mark_all_read(user=user)
    flash.success(request, f"{marked} notification{'' if marked == 1 else 's'} marked read.")
    return redirect("supervision:notifications")


# -- policy --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_view
def policy(request: HtmxHttpRequest, user: User) -> HttpResponse:
    """The policy as a form, with the whole document as JSON for advanced edits.

    Both post the same document to `policy_update`; a rejected post shows every problem
    and keeps what the admin typed.
    """
    organisation = user.organisation
    assert organisation is not None  # staff_view lets only members of an organisation in
    can_edit = user.role == Role.ADMIN
    raw = policy_raw_get(organisation=organisation)
    json_form = PolicyForm(initial={"document": json.dumps(raw, indent=2, ensure_ascii=False)})
    editor = editor_from_document(raw)
    problems: list[str] = []
    json_open = False
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only admins can change the policy.")
        document: dict[str, Any] | None = None
        if request.POST.get("mode") == "json":
            json_form = PolicyForm(request.POST)
            json_open = True
            if json_form.is_valid():
                document = json_form.cleaned_data["document"]
            else:
                problems = [str(error) for error in json_form.errors.get("document", [])]
        else:
            posted, problems = validate_posted_policy(request.POST)
            if problems:
                editor = editor_from_document(posted)
            else:
                document = posted
        if document is not None:
            try:
                policy_update(organisation=organisation, actor=user, document=document)
            except PolicyPermissionDenied as denied:
                raise PermissionDenied(str(denied)) from denied
            flash.success(request, "Policy saved. It applies to the next customer message.")
            return redirect("supervision:policy")
        status = 400
    current = policy_parse(raw)
    stored = Policy.objects.filter(organisation=organisation).select_related("updated_by").first()
    context = {
        "form": json_form,
        "editor": editor,
        "problems": problems,
        "json_open": json_open,
        "current": current,
        "stored": stored,
        "can_edit": can_edit,
        "history": policy_history(organisation=organisation),
    }
    return render(request, "supervision/policy.html", context, status=status)


# -- blocked contacts ----------------------------------------------------------------


@require_GET
@staff_view
def blocks(request: HtmxHttpRequest, user: User) -> HttpResponse:
    show_all = request.GET.get("all") in {"1", "true", "on"}
    rows = list(identity_blocks(user, active_only=not show_all)[:LIST_ROWS])
    can_review = user.role in (Role.SUPERVISOR, Role.ADMIN)
    context = {"blocks": rows, "show_all": show_all, "can_review": can_review}
    return render(request, "supervision/blocks.html", context)


@require_POST
@staff_view
def identity_block_view(request: HtmxHttpRequest, user: User, identity_id: int) -> HttpResponse:
    identity = ContactIdentity.objects.filter(
        pk=identity_id, organisation_id=user.organisation_id or 0
    ).first()
    if identity is None:
        raise Http404("No such contact.")
    try:
        identity_block(identity=identity, actor=user, reason=request.POST.get("reason", ""))
        flash.success(request, f"{identity.value} is blocked; a supervisor will review it.")
    except BlockError as error:
        flash.error(request, str(error))
    # Blocking from a conversation returns there; only our own paths are followed.
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("supervision:blocks")


@require_POST
@staff_view
def block_decide(request: HtmxHttpRequest, user: User, block_id: int) -> HttpResponse:
    block = identity_blocks(user, active_only=False).filter(pk=block_id).first()
    if block is None:
        raise Http404("No such block.")
    try:
        if request.POST.get("decision") == "unblock":
            identity_unblock(block=block, actor=user, reason=request.POST.get("reason", ""))
            flash.success(request, f"{block.identity.value} is unblocked.")
        else:
            identity_block_review(block=block, actor=user)
            flash.success(request, "Block confirmed.")
    except PolicyPermissionDenied as denied:
        raise PermissionDenied(str(denied)) from denied
    except BlockError as error:
        flash.error(request, str(error))
    return redirect("supervision:blocks")
