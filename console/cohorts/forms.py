"""The cohort page's forms: shapes only; students.cohorts.services owns the rules (a unique name,
deleting only a cohort without students)."""
import unicodedata

from django import forms

from config.text import validate_one_line_text
from students.cohorts.serializers import COHORT_NAME_MAX_LENGTH

MSG_COHORT_NAME_REQUIRED = "Give the cohort a name."
MSG_COHORT_NAME_TOO_LONG = f"Keep the name to {COHORT_NAME_MAX_LENGTH} characters or fewer."
MSG_NO_SUCH_COHORT = "That cohort no longer exists; reload the page."


class CohortNameForm(forms.Form):
    name = forms.CharField(
        max_length=COHORT_NAME_MAX_LENGTH,
        validators=[validate_one_line_text],
        error_messages={"required": MSG_COHORT_NAME_REQUIRED, "max_length": MSG_COHORT_NAME_TOO_LONG},
    )

    def clean_name(self):
        return unicodedata.normalize("NFC", self.cleaned_data["name"])
