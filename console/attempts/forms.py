"""Forms for granting and revoking attempts in the HTML console. They check shape only (ids
are strings here, attempts a whole number): the attempts services look the ids up and own the
rules (1-10 attempts, assignment, conflicts) with their messages, and their refusals are shown
beside the same fields."""
from django import forms

from attempts.grants.services import MAX_REASON_LENGTH
from config.text import validate_free_text

MSG_FORM_REASON_REQUIRED = "Give a reason; it is kept in the grant history."
MSG_FORM_REASON_TOO_LONG = "Keep the reason to %(limit_value)d characters or fewer (this one has %(show_value)d)."
MSG_FORM_ATTEMPTS_NOT_A_NUMBER = "Give the number of attempts as a whole number."
MSG_CASE_STUDY_REQUIRED = "Choose a case study."


def case_study_field(**kwargs):
    return forms.CharField(**kwargs, max_length=64, error_messages={"required": MSG_CASE_STUDY_REQUIRED})


def attempts_field(**kwargs):
    """A whole number; how many is attempts.grants.services' rule (1-10), refused there with its
    one message and shown beside this field."""
    return forms.IntegerField(
        **kwargs,
        initial=1,
        error_messages={"required": MSG_FORM_ATTEMPTS_NOT_A_NUMBER, "invalid": MSG_FORM_ATTEMPTS_NOT_A_NUMBER},
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
    case_study = case_study_field()
    attempts = attempts_field()
    reason = reason_field()
