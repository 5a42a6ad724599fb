from __future__ import annotations

from django import forms

from calmdesk.training.session import MAX_REPLY_CHARS


class StartForm(forms.Form):
    scenario = forms.CharField(max_length=64)
    coach = forms.BooleanField(required=False)


class PracticeReplyForm(forms.Form):
    body = forms.CharField(
        max_length=MAX_REPLY_CHARS,
        strip=True,
        error_messages={"required": "Write a reply first."},
    )


class DraftForm(forms.Form):
    body = forms.CharField(max_length=MAX_REPLY_CHARS, required=False, strip=False)


class ScenarioForm(forms.Form):
    # Scenario files are a few kilobytes; this bound keeps a paste accident small.
    source = forms.CharField(max_length=100_000, widget=forms.Textarea, strip=False)
