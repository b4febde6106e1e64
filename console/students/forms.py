"""Forms of the students pages. They check shapes only (ids are strings of the API's shape): the
services look the ids up and own the rules, and their refusals are shown beside these fields."""
from django import forms

from catalogue.case_studies.selectors import case_studies_list
from config.ids import OPAQUE_ID_RE
from console.attempts.forms import (
    MAX_BULK_STUDENTS,
    MSG_CASE_STUDY_GONE,
    MSG_CASE_STUDY_REQUIRED,
    MSG_FORM_ATTEMPTS_RANGE,
    MSG_FORM_REASON_REQUIRED,
    MSG_NO_STUDENTS,
    MSG_NOT_A_STUDENT,
    MSG_TOO_MANY_STUDENTS,
    attempts_field,
    reason_field,
)

GRANT, REVOKE, ARCHIVE, UNARCHIVE, GROUP_ADD, GROUP_REMOVE = (
    "grant", "revoke", "archive", "unarchive", "group_add", "group_remove"
)
ACTION_LABELS = {
    GRANT: "Grant extra attempts",
    REVOKE: "Revoke extra attempts",
    ARCHIVE: "Archive",
    UNARCHIVE: "Unarchive",
    GROUP_ADD: "Add to a group",
    GROUP_REMOVE: "Remove from a group",
}
WITHDRAWN, GRADUATED = "withdrawn", "graduated"

MSG_ARCHIVE_AS_REQUIRED = "Choose whether they withdrew or graduated."
MSG_ARCHIVE_ON_REQUIRED = "Give the date they withdrew or graduated (for example 2026-06-30)."
MSG_GROUP_REQUIRED = "Choose a group."
MSG_GROUP_GONE = "That group no longer exists; reload the page and choose another."
MSG_UNKNOWN_ACTION = "Choose an action from the list."


def _opaque_id(value):
    return isinstance(value, str) and OPAQUE_ID_RE.match(value) is not None


class BulkActionForm(forms.Form):
    """One action on the ticked students of the list, or (scope "matching") on every student the
    list's filters match, at most MAX_BULK_STUDENTS of them. Without `action` it is a grant, as
    the bar's first button is."""

    SCOPE_TICKED, SCOPE_MATCHING = "ticked", "matching"

    action = forms.ChoiceField(
        choices=list(ACTION_LABELS.items()), required=False, error_messages={"invalid_choice": MSG_UNKNOWN_ACTION}
    )
    user_ids = forms.MultipleChoiceField(required=False, error_messages={"invalid_choice": MSG_NOT_A_STUDENT})
    scope = forms.ChoiceField(choices=[(SCOPE_TICKED, SCOPE_TICKED), (SCOPE_MATCHING, SCOPE_MATCHING)], required=False)
    # Grant and revoke.
    case_study = forms.CharField(max_length=64, required=False)
    attempts = attempts_field(required=False)
    reason = reason_field(required=False)
    # Archive.
    archive_as = forms.ChoiceField(
        choices=[(WITHDRAWN, "Withdrawn"), (GRADUATED, "Graduated")],
        required=False,
        error_messages={"invalid_choice": MSG_ARCHIVE_AS_REQUIRED},
    )
    archive_on = forms.DateField(required=False, error_messages={"invalid": MSG_ARCHIVE_ON_REQUIRED})
    # Add to or remove from a group.
    group = forms.CharField(max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked by the services (unknown ones are refused there); here only their shape,
        # by the API's rule, so no malformed id (a NUL, say) reaches the database.
        self.fields["user_ids"].valid_value = _opaque_id

    def clean_user_ids(self):
        ids = list(dict.fromkeys(self.cleaned_data["user_ids"]))
        if len(ids) > MAX_BULK_STUDENTS:
            raise forms.ValidationError(MSG_TOO_MANY_STUDENTS)
        return ids

    def clean_group(self):
        group = self.cleaned_data["group"]
        if group and not _opaque_id(group):
            raise forms.ValidationError(MSG_GROUP_GONE)
        return group

    def _require(self, data, field, message):
        if data.get(field) in (None, "") and field not in self.errors:
            self.add_error(field, message)

    def clean(self):
        data = super().clean()
        data["action"] = data.get("action") or GRANT
        data["scope"] = data.get("scope") or self.SCOPE_TICKED
        if data["scope"] == self.SCOPE_TICKED and "user_ids" in data and not data["user_ids"]:
            self.add_error("user_ids", MSG_NO_STUDENTS)
        action = data["action"]
        if action in (GRANT, REVOKE):
            self._require(data, "case_study", MSG_CASE_STUDY_REQUIRED)
            self._require(data, "attempts", MSG_FORM_ATTEMPTS_RANGE)
            self._require(data, "reason", MSG_FORM_REASON_REQUIRED)
            case_study_id = data.get("case_study")
            # Only the active case studies are offered for a grant; one archived or deleted since
            # the page was drawn is refused here rather than granted.
            if action == GRANT and case_study_id and not (
                _opaque_id(case_study_id)
                and case_studies_list(is_active=True).prefetch_related(None).filter(pk=case_study_id).exists()
            ) or case_study_id and not _opaque_id(case_study_id):
                self.add_error("case_study", MSG_CASE_STUDY_GONE)
        elif action == ARCHIVE:
            self._require(data, "archive_as", MSG_ARCHIVE_AS_REQUIRED)
            self._require(data, "archive_on", MSG_ARCHIVE_ON_REQUIRED)
        elif action in (GROUP_ADD, GROUP_REMOVE):
            self._require(data, "group", MSG_GROUP_REQUIRED)
        return data
