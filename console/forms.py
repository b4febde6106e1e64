"""Forms of the HTML console. They check shape only; the attempts services own the rules
(assignment, conflicts) and their refusals are shown beside the same fields."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm

from attempts.models import CaseStudy
from attempts.services import MAX_ATTEMPTS as MAX_ATTEMPTS_PER_CHANGE
from attempts.services import MAX_BULK_IDS as MAX_BULK_STUDENTS
from attempts.services import MAX_REASON_LENGTH

MSG_REASON_REQUIRED = "Give a reason; it is kept in the grant history."
MSG_ATTEMPTS_RANGE = f"Choose between 1 and {MAX_ATTEMPTS_PER_CHANGE} attempts."
MSG_NO_STUDENTS = "Tick at least one student in the list."
MSG_TOO_MANY_STUDENTS = f"Choose at most {MAX_BULK_STUDENTS} students at a time."
MSG_CASE_STUDY_REQUIRED = "Choose a case study."
MSG_UNKNOWN_CASE_STUDY = "That case study no longer exists."


class LoginForm(AuthenticationForm):
    """Email and password (StaffUser's USERNAME_FIELD is the email)."""

    error_messages = {
        "invalid_login": "That email and password do not match an account here. Check both and try again.",
        "inactive": "This account is disabled. Ask an administrator to re-enable it.",
    }


def _attempts_field():
    return forms.IntegerField(
        min_value=1,
        max_value=MAX_ATTEMPTS_PER_CHANGE,
        initial=1,
        error_messages={
            "required": MSG_ATTEMPTS_RANGE,
            "invalid": MSG_ATTEMPTS_RANGE,
            "min_value": MSG_ATTEMPTS_RANGE,
            "max_value": MSG_ATTEMPTS_RANGE,
        },
    )


def _reason_field():
    return forms.CharField(
        max_length=MAX_REASON_LENGTH,
        strip=True,
        error_messages={"required": MSG_REASON_REQUIRED},
    )


class AttemptChangeForm(forms.Form):
    """Grant or revoke extra attempts for one student on one case study (one card)."""

    ACTIONS = ("grant", "revoke")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    case_study = forms.CharField(max_length=64, error_messages={"required": MSG_CASE_STUDY_REQUIRED})
    attempts = _attempts_field()
    reason = _reason_field()

    def clean_case_study(self):
        case_study = CaseStudy.objects.filter(pk=self.cleaned_data["case_study"]).first()
        if case_study is None:
            raise forms.ValidationError(MSG_UNKNOWN_CASE_STUDY)
        return case_study


class BulkGrantForm(forms.Form):
    """Grant the same extra attempts to the ticked students of the list."""

    user_ids = forms.MultipleChoiceField(
        required=True,
        error_messages={"required": MSG_NO_STUDENTS},
    )
    case_study = forms.ModelChoiceField(
        queryset=CaseStudy.objects.filter(is_active=True).order_by("title", "case_study_id"),
        empty_label="Choose a case study…",
        error_messages={"required": MSG_CASE_STUDY_REQUIRED, "invalid_choice": MSG_UNKNOWN_CASE_STUDY},
    )
    attempts = _attempts_field()
    reason = _reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked by the service (unknown ones are refused there); here only their shape.
        self.fields["user_ids"].valid_value = lambda value: isinstance(value, str) and 0 < len(value) <= 64

    def clean_user_ids(self):
        ids = list(dict.fromkeys(self.cleaned_data["user_ids"]))
        if len(ids) > MAX_BULK_STUDENTS:
            raise forms.ValidationError(MSG_TOO_MANY_STUDENTS)
        return ids
