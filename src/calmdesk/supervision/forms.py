"""Forms of the supervisor pages: they parse and validate, services decide."""

from __future__ import annotations

import json
from typing import Any

from django import forms

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
