"""Practice pages. Views only translate: parse, call one service or selector, render.

The run page is built like the conversation page: the thread, a reply box with
the live coach (unless the run is in test mode), and a side column with the
scenario and, when it ends, the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from calmdesk.accounts.models import Role, User
from calmdesk.training import PracticeSession, ScenarioError, Turn
from calmdesk.training.drafting import draft_scenario
from calmdesk.training_web.forms import DraftForm, PracticeReplyForm, ScenarioForm, StartForm
from calmdesk.training_web.models import CustomScenario, PracticeRun
from calmdesk.training_web.scenarios import organisation_scenarios, shipped_source
from calmdesk.training_web.selectors import (
    access_practice_run,
    access_trainee,
    team_results,
    trainee_progress,
    trainee_runs,
)
from calmdesk.training_web.services import (
    SCENARIO_EDITORS,
    PracticeRunError,
    ScenarioPermissionDenied,
    practice_run_finish,
    practice_run_reply,
    practice_run_session,
    practice_run_start,
    practice_scenario_delete,
    practice_scenario_save,
)
from calmdesk.workspace.views import HtmxHttpRequest, staff_view, wants_partial


def _run_or_404(user: User, run_id: int) -> PracticeRun:
    try:
        return access_practice_run(user, run_id)
    except PracticeRun.DoesNotExist as exc:
        raise Http404("No such practice run.") from exc


@require_GET
@staff_view
def practice_home(request: HtmxHttpRequest, user: User) -> HttpResponse:
    return render(
        request,
        "training_web/home.html",
        {
            "scenarios": organisation_scenarios(user.organisation_id or 0),
            "runs": trainee_runs(user),
            "progress": trainee_progress(user),
            "can_see_team": user.role in (Role.SUPERVISOR, Role.ADMIN),
            "can_edit": user.role in SCENARIO_EDITORS,
        },
    )


@require_POST
@staff_view
def practice_start(request: HtmxHttpRequest, user: User) -> HttpResponse:
    form = StartForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Choose a scenario to practise.")
        return redirect("practice:home")
    try:
        run = practice_run_start(
            trainee=user,
            scenario_id=form.cleaned_data["scenario"],
            coach_visible=form.cleaned_data["coach"],
        )
    except PracticeRunError as exc:
        flash.error(request, str(exc))
        return redirect("practice:home")
    return redirect("practice:run", run_id=run.pk)


@dataclass(frozen=True)
class ThreadLine:
    role: str
    text: str
    turn: Turn | None = None


def _context(
    run: PracticeRun, session: PracticeSession, user: User, **extra: Any
) -> dict[str, Any]:
    lines = [ThreadLine("customer", session.opening)]
    for turn in session.turns:
        lines.append(ThreadLine("trainee", turn.reply, turn))
        lines.append(ThreadLine("customer", turn.customer))
    finished = run.finished
    hint = ""
    if run.coach_visible and not finished:
        from calmdesk.engine.coaching import playbook

        hint = playbook(session.conversation).next_action
    return {
        "hint": hint,
        "run": run,
        "scenario": session.scenario,
        "lines": lines,
        "state": session.state,
        "result": session.result() if finished else None,
        # In test mode the trainee sees feedback only once the run is over.
        "show_feedback": run.coach_visible or finished,
        "is_trainee": run.trainee_id == user.pk,
        "reply_form": extra.pop("reply_form", None) or PracticeReplyForm(),
        **extra,
    }


def _session(run: PracticeRun) -> PracticeSession:
    try:
        return practice_run_session(run)
    except PracticeRunError as exc:
        raise Http404(str(exc)) from exc


@require_GET
@staff_view
def practice_run(request: HtmxHttpRequest, user: User, run_id: int) -> HttpResponse:
    run = _run_or_404(user, run_id)
    return render(request, "training_web/run.html", _context(run, _session(run), user))


@require_POST
@staff_view
def practice_reply(request: HtmxHttpRequest, user: User, run_id: int) -> HttpResponse:
    run = _run_or_404(user, run_id)
    if run.trainee_id != user.pk:
        raise PermissionDenied("Only the trainee can reply in their own practice run.")
    form = PracticeReplyForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            practice_run_reply(run=run, text=form.cleaned_data["body"])
            form = PracticeReplyForm()
        except PracticeRunError as exc:
            error = str(exc)
    if not wants_partial(request):
        if error:
            flash.error(request, error)
        elif form.errors:
            flash.error(request, " ".join(str(message) for message in form.errors.get("body", [])))
        return redirect("practice:run", run_id=run.pk)
    context = _context(run, _session(run), user, reply_form=form, error=error)
    return render(request, "training_web/run.html#practice", context)


@require_POST
@staff_view
def practice_coach(request: HtmxHttpRequest, user: User, run_id: int) -> HttpResponse:
    run = _run_or_404(user, run_id)
    if not run.coach_visible or run.finished:
        return HttpResponse("")
    form = DraftForm(request.POST)
    coaching = None
    if form.is_valid() and form.cleaned_data["body"].strip():
        from calmdesk.engine.coaching import coach

        session = _session(run)
        coaching = coach(form.cleaned_data["body"], conversation=session.conversation)
    return render(request, "training_web/run.html#live-coach", {"coaching": coaching, "run": run})


@require_POST
@staff_view
def practice_finish(request: HtmxHttpRequest, user: User, run_id: int) -> HttpResponse:
    run = _run_or_404(user, run_id)
    if run.trainee_id != user.pk:
        raise PermissionDenied("Only the trainee can end their own practice run.")
    practice_run_finish(run=run)
    return redirect("practice:run", run_id=run.pk)


@require_GET
@staff_view
def practice_team(request: HtmxHttpRequest, user: User) -> HttpResponse:
    return render(request, "training_web/team.html", {"results": team_results(user)})


@require_GET
@staff_view
def practice_trainee(request: HtmxHttpRequest, user: User, trainee_id: int) -> HttpResponse:
    """One trainee's runs and progress, for their supervisor (or themselves)."""
    if user.role not in (Role.SUPERVISOR, Role.ADMIN) and trainee_id != user.pk:
        raise PermissionDenied("Only supervisors and admins see other trainees' practice.")
    try:
        trainee = access_trainee(user, trainee_id)
    except User.DoesNotExist as exc:
        raise Http404("No such trainee.") from exc
    return render(
        request,
        "training_web/trainee.html",
        {
            "trainee": trainee,
            "runs": trainee_runs(trainee, limit=100),
            "progress": trainee_progress(trainee),
        },
    )


# -- scenarios (supervisors and admins) -----------------------------------------


def _editor(user: User) -> None:
    if user.role not in SCENARIO_EDITORS:
        raise PermissionDenied("Only supervisors and admins edit practice scenarios.")


@require_GET
@staff_view
def scenario_list(request: HtmxHttpRequest, user: User) -> HttpResponse:
    _editor(user)
    own = set(
        CustomScenario.objects.filter(organisation_id=user.organisation_id or 0).values_list(
            "scenario_id", flat=True
        )
    )
    return render(
        request,
        "training_web/scenarios.html",
        {"scenarios": organisation_scenarios(user.organisation_id or 0), "own": own},
    )


def _edit_page(request: HtmxHttpRequest, form: ScenarioForm, **extra: Any) -> HttpResponse:
    return render(request, "training_web/scenario_edit.html", {"form": form, **extra})


@staff_view
def scenario_edit(request: HtmxHttpRequest, user: User, scenario_id: str = "") -> HttpResponse:
    _editor(user)
    if request.method == "POST":
        form = ScenarioForm(request.POST)
        if form.is_valid():
            try:
                _, scenario = practice_scenario_save(
                    author=user, source=form.cleaned_data["source"]
                )
            except ScenarioError as exc:
                return _edit_page(request, form, problems=exc.problems, scenario_id=scenario_id)
            except ScenarioPermissionDenied as exc:
                raise PermissionDenied(str(exc)) from exc
            flash.success(request, f"Saved the scenario {scenario.id}.")
            return redirect("practice:scenarios")
        return _edit_page(request, form, scenario_id=scenario_id)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    source = ""
    if scenario_id:
        custom = CustomScenario.objects.filter(
            organisation_id=user.organisation_id or 0, scenario_id=scenario_id
        ).first()
        found = custom.source if custom else shipped_source(scenario_id)
        if found is None:
            raise Http404("No such scenario.")
        source = found
    return _edit_page(request, ScenarioForm(initial={"source": source}), scenario_id=scenario_id)


@require_POST
@staff_view
def scenario_delete(request: HtmxHttpRequest, user: User, scenario_id: str) -> HttpResponse:
    _editor(user)
    if practice_scenario_delete(author=user, scenario_id=scenario_id):
        flash.success(request, f"Removed your version of {scenario_id}.")
    return redirect("practice:scenarios")


@require_GET
@staff_view
def scenario_from_conversation(
    request: HtmxHttpRequest, user: User, conversation_id: int
) -> HttpResponse:
    """A draft scenario from a real conversation, anonymised, ready to finish and save."""
    _editor(user)
    from calmdesk.conversations.models import Direction
    from calmdesk.conversations.selectors import access_conversation, conversation_messages

    conversation = access_conversation(user, conversation_id)
    messages: list[tuple[str, str]] = []
    names = {conversation.customer.name}
    for message in conversation_messages(conversation):
        if message.direction == Direction.NOTE:
            continue
        role = "customer" if message.direction == Direction.INBOUND else "agent"
        messages.append((role, message.body_text))
        if message.author is not None:
            names.update({message.author.get_full_name(), message.author.first_name})
    try:
        source = draft_scenario(
            messages,
            scenario_id=f"from-conversation-{conversation.pk}",
            names=[name for name in names if name],
        )
    except ValueError as exc:
        flash.error(request, str(exc).capitalize() + ".")
        return redirect("practice:scenarios")
    return _edit_page(request, ScenarioForm(initial={"source": source}), drafted=True)
