"""Forms for granting and revoking attempts in the HTML console. They check shape only (ids
are strings here): the attempts services look the ids up, own the rules (assignment,
conflicts), and their refusals are shown beside the same fields."""
from django import forms

from attempts.grants.services import MAX_ATTEMPTS as MAX_ATTEMPTS_PER_CHANGE
from attempts.grants.services import MAX_BULK_IDS as MAX_BULK_STUDENTS
from attempts.grants.services import MAX_REASON_LENGTH
from catalogue.case_studies.selectors import case_studies_list
from config.text import validate_free_text

MSG_FORM_REASON_REQUIRED = "Give a reason; it is kept in the grant history."
MSG_FORM_REASON_TOO_LONG = "Keep the reason to %(limit_value)d characters or fewer (this one has %(show_value)d)."
MSG_FORM_ATTEMPTS_RANGE = f"Choose between 1 and {MAX_ATTEMPTS_PER_CHANGE} attempts."
MSG_NO_STUDENTS = "Tick at least one student in the list."
MSG_TOO_MANY_STUDENTS = f"Choose at most {MAX_BULK_STUDENTS} students at a time."
MSG_CASE_STUDY_REQUIRED = "Choose a case study."
MSG_CASE_STUDY_GONE = "That case study no longer exists."
MSG_TOO_MANY_MATCHING = (
    "The filters match {total} students; a grant reaches at most {limit} at a time. Narrow the filters "
    "(a programme, a status or a date range) and grant again."
)
MSG_NOT_A_STUDENT = "One of the ticked rows is not a student of this list; reload the page and tick them again."


def bulk_case_study_options():
    """(id, title) of the case studies a bulk grant offers: the active ones. One query."""
    return list(case_studies_list(is_active=True).prefetch_related(None).values_list("pk", "title"))


def attempts_field(**kwargs):
    return forms.IntegerField(
        **kwargs,
        min_value=1,
        max_value=MAX_ATTEMPTS_PER_CHANGE,
        initial=1,
        error_messages={
            "required": MSG_FORM_ATTEMPTS_RANGE,
            "invalid": MSG_FORM_ATTEMPTS_RANGE,
            "min_value": MSG_FORM_ATTEMPTS_RANGE,
            "max_value": MSG_FORM_ATTEMPTS_RANGE,
        },
    )


def reason_field(**kwargs):
    return forms.CharField(
        **kwargs,
        max_length=MAX_REASON_LENGTH,
        strip=True,
        validators=[validate_free_text],
        error_messages={"required": MSG_FORM_REASON_REQUIRED, "max_length": MSG_FORM_REASON_TOO_LONG},
    )


class AttemptChangeForm(forms.Form):
    """Grant or revoke extra attempts for one student on one case study (one card)."""

    ACTIONS = ("grant", "revoke")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    case_study = forms.CharField(max_length=64, error_messages={"required": MSG_CASE_STUDY_REQUIRED})
    attempts = attempts_field()
    reason = reason_field()
