"""The bulk bar's form. It checks shapes only (ids are strings of the API's shape, attempts an
integer) and that the chosen action's fields (console.bulk.actions) are given: the services look
the ids up and own the rules, and their refusals are shown beside these fields."""
from django import forms

from catalogue.case_studies.selectors import case_studies_list
from config.bulk import MAX_BULK_IDS
from config.ids import OPAQUE_ID_RE
from console.attempts.forms import attempts_field, case_study_field, reason_field
from console.bulk.actions import BULK_ACTIONS, DEFAULT_ACTION, GRADUATED, GRANT, WITHDRAWN

MSG_ARCHIVE_AS_REQUIRED = "Choose whether they withdrew or graduated."
MSG_ARCHIVE_ON_REQUIRED = "Give the date they withdrew or graduated (for example 2026-06-30)."
MSG_GROUP_REQUIRED = "Choose a group."
MSG_GROUP_GONE = "That group no longer exists; reload the page and choose another."
MSG_UNKNOWN_ACTION = "Choose an action from the list."
MSG_NO_STUDENTS = "Tick at least one student in the list."
MSG_TOO_MANY_STUDENTS = f"Choose at most {MAX_BULK_IDS} students at a time."
MSG_NOT_A_STUDENT = "One of the ticked rows is not a student of this list; reload the page and tick them again."
MSG_CASE_STUDY_GONE = "That case study no longer exists."


def _opaque_id(value):
    return isinstance(value, str) and OPAQUE_ID_RE.match(value) is not None


def _active_case_study(case_study_id):
    return case_studies_list(is_active=True).prefetch_related(None).filter(pk=case_study_id).exists()


class BulkActionForm(forms.Form):
    """One action on the ticked students of the list, or (scope "matching") on every student the
    list's filters match, at most MAX_BULK_IDS of them. Without `action` it is a grant, as the
    bar's first button is."""

    SCOPE_TICKED, SCOPE_MATCHING = "ticked", "matching"

    action = forms.ChoiceField(
        choices=[(a.name, a.label) for a in BULK_ACTIONS.values()],
        required=False,
        error_messages={"invalid_choice": MSG_UNKNOWN_ACTION},
    )
    user_ids = forms.MultipleChoiceField(required=False, error_messages={"invalid_choice": MSG_NOT_A_STUDENT})
    scope = forms.ChoiceField(choices=[(SCOPE_TICKED, SCOPE_TICKED), (SCOPE_MATCHING, SCOPE_MATCHING)], required=False)
    # Posted by the preview's confirm button, with the previewed students as `user_ids`: only
    # then does the action run (whatever the scope, it reaches those students, no others).
    confirm = forms.BooleanField(required=False)
    # The fields of the actions, each required by the actions that need it (clean), saying so
    # with its "required" message. Grant and revoke:
    case_study = case_study_field(required=False)
    attempts = attempts_field(required=False)
    reason = reason_field(required=False)
    # Archive.
    archive_as = forms.ChoiceField(
        choices=[(WITHDRAWN, "Withdrawn"), (GRADUATED, "Graduated")],
        required=False,
        error_messages={"required": MSG_ARCHIVE_AS_REQUIRED, "invalid_choice": MSG_ARCHIVE_AS_REQUIRED},
    )
    archive_on = forms.DateField(
        required=False, error_messages={"required": MSG_ARCHIVE_ON_REQUIRED, "invalid": MSG_ARCHIVE_ON_REQUIRED}
    )
    # Add to or remove from a group.
    group = forms.CharField(max_length=64, required=False, error_messages={"required": MSG_GROUP_REQUIRED})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked by the services (unknown ones are refused there); here only their shape,
        # by the API's rule, so no malformed id (a NUL, say) reaches the database.
        self.fields["user_ids"].valid_value = _opaque_id

    def clean_user_ids(self):
        ids = list(dict.fromkeys(self.cleaned_data["user_ids"]))
        if len(ids) > MAX_BULK_IDS:
            raise forms.ValidationError(MSG_TOO_MANY_STUDENTS)
        return ids

    def clean_group(self):
        group = self.cleaned_data["group"]
        if group and not _opaque_id(group):
            raise forms.ValidationError(MSG_GROUP_GONE)
        return group

    def clean(self):
        data = super().clean()
        data["action"] = data.get("action") or DEFAULT_ACTION
        data["scope"] = data.get("scope") or self.SCOPE_TICKED
        names_students = data["scope"] == self.SCOPE_TICKED or data.get("confirm")
        if names_students and "user_ids" in data and not data["user_ids"]:
            self.no_students()
        fields = BULK_ACTIONS[data["action"]].fields
        for field in fields:
            if data.get(field) in (None, "") and field not in self.errors:
                self.add_error(field, self.fields[field].error_messages["required"])
        if "case_study" in fields:
            self._check_case_study(data)
        return data

    # Refusals the view finds after the form is clean (a service's, or the list's filters').

    def no_students(self):
        """Nobody ticked, or nobody matches the list's filters."""
        self.add_error("user_ids", MSG_NO_STUDENTS)

    def case_study_gone(self):
        """The case study chosen is malformed or gone since the page was drawn."""
        self.add_error("case_study", MSG_CASE_STUDY_GONE)

    def group_gone(self):
        """The group chosen was deleted since the page was drawn."""
        self.add_error("group", MSG_GROUP_GONE)

    def _check_case_study(self, data):
        """A malformed case study is refused; so, for a grant, is one not active: only the active
        ones are offered, so one archived or deleted since the page was drawn is refused here
        rather than granted."""
        case_study_id = data.get("case_study")
        if not case_study_id:
            return
        if not _opaque_id(case_study_id) or data["action"] == GRANT and not _active_case_study(case_study_id):
            self.case_study_gone()
