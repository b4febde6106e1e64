"""The erasure form of a student's page: shapes only. attempts.data_rights.services owns the
reason's rules (not blank, its length) and the refusals (legal hold, already erased)."""
from django import forms

from attempts.grants.services import MAX_REASON_LENGTH
from config.text import validate_free_text

MSG_ERASE_CONFIRM = "Tick the box to confirm that this cannot be undone."


class EraseForm(forms.Form):
    # Not required here: a blank reason is refused by the service, with its message.
    reason = forms.CharField(required=False, strip=False, max_length=MAX_REASON_LENGTH * 4, validators=[validate_free_text])
    confirm = forms.BooleanField(error_messages={"required": MSG_ERASE_CONFIRM})
