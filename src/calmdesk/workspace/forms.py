"""Forms of the agent workspace: they parse and validate input, services do the work."""

from __future__ import annotations

from typing import Any

from django import forms

from calmdesk.accounts.models import Team, User
from calmdesk.conversations.models import Priority, Status
from calmdesk.conversations.selectors import InboxFilters
from calmdesk.conversations.services import MAX_BODY_CHARS

STATUS_FILTER_CHOICES: list[tuple[str, str]] = [
    ("open_all", "All open"),
    *Status.choices,
    ("all", "Any status"),
]

SORT_CHOICES: list[tuple[str, str]] = [
    ("risk", "Highest risk"),
    ("waiting", "Waiting longest"),
    ("newest", "Newest"),
    ("updated", "Recently updated"),
    ("priority", "Priority"),
]

ASSIGNEE_ANY = ""
ASSIGNEE_UNASSIGNED = "unassigned"
ASSIGNEE_MINE = "mine"


class InboxFilterForm(forms.Form):
    """The inbox's query string. Unknown values fall back to the defaults, never an error page."""

    status = forms.ChoiceField(choices=STATUS_FILTER_CHOICES, required=False)
    team = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def __init__(self, *args: Any, user: User, teams: list[Team], staff: list[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.user = user
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ChoiceField)
        team_field.choices = [("", "All teams"), *((str(t.pk), t.name) for t in teams)]
        assignee_field = self.fields["assignee"]
        assert isinstance(assignee_field, forms.ChoiceField)
        assignee_field.choices = [
            (ASSIGNEE_ANY, "Anyone"),
            (ASSIGNEE_MINE, "Mine"),
            (ASSIGNEE_UNASSIGNED, "Unassigned"),
            *((str(u.pk), u.display_name) for u in staff if u.pk != user.pk),
        ]

    def filters(self) -> InboxFilters:
        data = self.cleaned_data if self.is_valid() else self._valid_parts()
        team = data.get("team") or ""
        assignee = data.get("assignee") or ASSIGNEE_ANY
        assignee_id: int | None = None
        if assignee == ASSIGNEE_MINE:
            assignee_id = self.user.pk
        elif assignee not in (ASSIGNEE_ANY, ASSIGNEE_UNASSIGNED):
            assignee_id = int(assignee)
        return InboxFilters(
            status=data.get("status") or "open_all",
            team_id=int(team) if team else None,
            assignee_id=assignee_id,
            unassigned=assignee == ASSIGNEE_UNASSIGNED,
            sort=data.get("sort") or "risk",
        )

    def _valid_parts(self) -> dict[str, Any]:
        """The fields that did validate; a bad `team=` in a URL must not drop a good `sort=`."""
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Reply",
        max_length=MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 7, "placeholder": "Write your reply to the customer"}),
    )
    confirm_blocking = forms.BooleanField(
        required=False, label="I have read the warnings and still want to send this reply"
    )


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Internal note",
        max_length=MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Only your colleagues see notes"}),
    )


class StaffChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class AssignForm(forms.Form):
    assignee = StaffChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody (unassigned)"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="Keep team"
    )

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee_field = self.fields["assignee"]
        team_field = self.fields["team"]
        assert isinstance(assignee_field, forms.ModelChoiceField)
        assert isinstance(team_field, forms.ModelChoiceField)
        assignee_field.queryset = User.objects.filter(
            organisation_id=organisation_id, is_active=True
        ).order_by("first_name", "username")
        team_field.queryset = Team.objects.filter(organisation_id=organisation_id)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)


class CustomerNotesForm(forms.Form):
    notes = forms.CharField(
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 5})
    )


class CustomerMergeForm(forms.Form):
    """Names the duplicate to fold into the customer on the page."""

    duplicate = forms.CharField(
        max_length=320,
        label="The duplicate's email address, chat handle or customer number",
    )
    confirm = forms.BooleanField(label="I have checked that this is the same person", required=True)


class CoachDraftForm(forms.Form):
    body = forms.CharField(required=False, max_length=MAX_BODY_CHARS, strip=False)
