"""Forms of the supervisor pages: they parse and validate, services decide."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from calmdesk.channels.chat import (
    MAX_ALLOWED_ORIGINS,
    MAX_GREETING_CHARS,
    MAX_ORIGIN_CHARS,
    MAX_TITLE_CHARS,
    ChatError,
    origin_check,
)
from calmdesk.channels.models import WebhookEvent
from calmdesk.channels.webhooks import (
    MAX_DESCRIPTION_CHARS,
    MAX_URL_CHARS,
    WebhookError,
    webhook_url_check,
)
from calmdesk.followups.models import FollowUpState
from calmdesk.incidents.models import IncidentKind, IncidentStatus
from calmdesk.incidents.selectors import IncidentFilters
from calmdesk.policies.document import PolicyInvalid, policy_parse

MAX_POLICY_CHARS = 100_000


class IncidentFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "All kinds"), *IncidentKind.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Not closed"), ("all", "All"), *IncidentStatus.choices], required=False
    )

    def filters(self) -> IncidentFilters:
        if not self.is_valid():
            return IncidentFilters()
        return IncidentFilters(
            kind=self.cleaned_data["kind"] or None, status=self.cleaned_data["status"] or None
        )


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=IncidentStatus.choices)
    note = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea)


class NoteForm(forms.Form):
    body = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))


class RecordForm(forms.Form):
    summary = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 12}))
    outcome = forms.CharField(
        max_length=10_000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ActionForm(forms.Form):
    description = forms.CharField(max_length=500)


class FollowUpForm(forms.Form):
    due_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    description = forms.CharField(max_length=500)


class FollowUpCloseForm(forms.Form):
    state = forms.ChoiceField(
        choices=[(FollowUpState.DONE, "Done"), (FollowUpState.CANCELLED, "Cancelled")]
    )


class PolicyForm(forms.Form):
    """The policy document as JSON text; every schema problem becomes a form error."""

    document = forms.CharField(
        max_length=MAX_POLICY_CHARS,
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "code"}),
    )

    def clean_document(self) -> Any:
        text = self.cleaned_data["document"]
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"This is not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}."
            ) from error
        try:
            policy_parse(document)
        except PolicyInvalid as invalid:
            raise forms.ValidationError(list(invalid.problems)) from invalid
        return document


# -- channels ------------------------------------------------------------------------


class ChatSettingsForm(forms.Form):
    """The web chat settings; origins one per line, each checked as the service checks it."""

    enabled = forms.BooleanField(required=False, label="Chat is on")
    title = forms.CharField(max_length=MAX_TITLE_CHARS, label="Title of the chat window")
    greeting = forms.CharField(
        required=False,
        max_length=MAX_GREETING_CHARS,
        label="Greeting shown when the chat opens",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    allowed_origins = forms.CharField(
        required=False,
        # Room for every origin at its longest, one a line; longer is refused before parsing.
        max_length=MAX_ALLOWED_ORIGINS * (MAX_ORIGIN_CHARS + 2),
        label="Sites that may embed the chat",
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "code"}),
    )

    def clean_allowed_origins(self) -> list[str]:
        lines = [
            (number, line.strip())
            for number, line in enumerate(self.cleaned_data["allowed_origins"].splitlines(), 1)
            if line.strip()
        ]
        problems: list[str] = []
        origins: list[str] = []
        for number, line in lines:
            try:
                origins.append(origin_check(line))
            except ChatError as error:
                problems.append(f"Line {number}: {error}.")
        if len(lines) > MAX_ALLOWED_ORIGINS:
            problems.append(f"At most {MAX_ALLOWED_ORIGINS} sites may embed the chat.")
        if problems:
            raise forms.ValidationError(problems)
        return origins


class WebhookForm(forms.Form):
    url = forms.CharField(max_length=MAX_URL_CHARS, label="URL")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    description = forms.CharField(max_length=MAX_DESCRIPTION_CHARS, required=False)

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        try:
            return webhook_url_check(url)
        except WebhookError as error:
            raise forms.ValidationError(f"{str(error)[:1].upper()}{str(error)[1:]}.") from error


class WebhookEditForm(WebhookForm):
    is_active = forms.BooleanField(required=False, label="Active (deliveries are sent)")
