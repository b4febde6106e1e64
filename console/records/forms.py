"""Forms of the console's student record pages. They parse shapes only and offer the current
choices; students.records.services resolves the ids, checks the rules (unique email and student
number, known programmes, cohort and advisor, archive dates) and its refusals are put beside
these fields (see RECORD_FIELD_MAP)."""
import unicodedata

from django import forms

from config.text import validate_one_line_text
from students.models import Student

MSG_FIRST_NAME_REQUIRED = "Give the student's first name."
MSG_LAST_NAME_REQUIRED = "Give the student's last name."
MSG_EMAIL_REQUIRED = "Give the student's email address."
MSG_EMAIL_INVALID = "Give an email address such as name@university.edu."
MSG_CHOOSE_FROM_LIST = "Choose one from the list; the page may be out of date, so reload it."
MSG_ARCHIVE_AS = "Choose whether the student withdrew or graduated."
MSG_ARCHIVE_ON = "Give the date the student withdrew or graduated (for example 2026-06-30)."
MSG_AVATAR_CHOOSE = "Choose a PNG, JPEG or WebP image of at most 2 MB."
MSG_RECORD_FIELD_TOO_LONG = "Keep it to {limit} characters or fewer."

# The records services' field names -> these forms' fields.
RECORD_FIELD_MAP = {
    "programme_codes": "programmes",
    "cohort_id": "cohort",
    "advisor_id": "advisor",
    "withdrawn_on": "archive_on",
    "graduated_on": "archive_on",
    "user_id": None,
}


class _NfcCharField(forms.CharField):
    """Text in Unicode NFC, as the API stores it, without control characters (config.text)."""

    default_validators = [validate_one_line_text]

    def to_python(self, value):
        value = super().to_python(value)
        return unicodedata.normalize("NFC", value) if value else value


def _length(name, **error_messages):
    """A student field's length as the model declares it, and the message refusing more."""
    limit = Student._meta.get_field(name).max_length
    return {"max_length": limit, "error_messages": {**error_messages, "max_length": MSG_RECORD_FIELD_TOO_LONG.format(limit=limit)}}


class StudentRecordForm(forms.Form):
    """Create or edit a student's record. The choices (programmes by code, cohorts and staff by
    id) are the current ones, passed in; None for an optional choice means "none"."""

    first_name = _NfcCharField(**_length("first_name", required=MSG_FIRST_NAME_REQUIRED))
    last_name = _NfcCharField(**_length("last_name", required=MSG_LAST_NAME_REQUIRED))
    email = forms.EmailField(
        validators=[validate_one_line_text], **_length("email", required=MSG_EMAIL_REQUIRED, invalid=MSG_EMAIL_INVALID)
    )
    student_number = _NfcCharField(required=False, **_length("student_number"))
    status = forms.ChoiceField(choices=Student.Status.choices, error_messages={"invalid_choice": MSG_CHOOSE_FROM_LIST})
    cohort = forms.ChoiceField(required=False, error_messages={"invalid_choice": MSG_CHOOSE_FROM_LIST})
    advisor = forms.ChoiceField(required=False, error_messages={"invalid_choice": MSG_CHOOSE_FROM_LIST})
    programmes = forms.MultipleChoiceField(required=False, error_messages={"invalid_choice": MSG_CHOOSE_FROM_LIST})
    # Only on an existing student's form, for staff who manage data rights.
    legal_hold = forms.BooleanField(required=False)

    def __init__(self, *args, programme_options, cohort_options, advisor_options, with_legal_hold=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_legal_hold:
            del self.fields["legal_hold"]
        self.fields["programmes"].choices = programme_options
        self.fields["cohort"].choices = [("", "No cohort"), *cohort_options]
        self.fields["advisor"].choices = [("", "No advisor"), *[(str(pk), label) for pk, label in advisor_options]]

    def service_arguments(self):
        """The cleaned data as the records services take it."""
        data = self.cleaned_data
        return {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "status": data["status"],
            "student_number": data["student_number"] or None,
            "cohort_id": data["cohort"] or None,
            "advisor_id": int(data["advisor"]) if data["advisor"] else None,
            "programme_codes": data["programmes"],
            **({"legal_hold": data["legal_hold"]} if "legal_hold" in self.fields else {}),
        }

    @classmethod
    def initial_for(cls, student):
        return {
            "first_name": student.first_name,
            "last_name": student.last_name,
            "email": student.email,
            "student_number": student.student_number or "",
            "status": student.status,
            "cohort": student.cohort_id or "",
            "advisor": str(student.advisor_id) if student.advisor_id else "",
            "programmes": [p["code"] for p in student.programme_rows],
            "legal_hold": student.legal_hold,
        }


class ArchiveForm(forms.Form):
    archive_as = forms.ChoiceField(
        choices=[("withdrawn", "Withdrawn"), ("graduated", "Graduated")],
        error_messages={"required": MSG_ARCHIVE_AS, "invalid_choice": MSG_ARCHIVE_AS},
    )
    archive_on = forms.DateField(error_messages={"required": MSG_ARCHIVE_ON, "invalid": MSG_ARCHIVE_ON})

    def service_arguments(self):
        data = self.cleaned_data
        key = "withdrawn_on" if data["archive_as"] == "withdrawn" else "graduated_on"
        return {key: data["archive_on"]}


class AvatarForm(forms.Form):
    """The upload is checked by the records service (size, a real image); here only that a file came."""

    avatar = forms.FileField(error_messages={"required": MSG_AVATAR_CHOOSE, "invalid": MSG_AVATAR_CHOOSE, "empty": MSG_AVATAR_CHOOSE})

