"""The Audit page's events in words: each record an event names (its target, and the ids among
the values it recorded) by its name, linked to its page, instead of its id.

`readable_events` collects the ids of a page of events first and resolves each kind of record
with one query, so the page's queries do not grow with its rows. A record that no longer
exists reads as "deleted student (id …)" (with the name the event itself recorded, when it
did); an erased student reads as their pseudonym, which their record now holds."""
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse

from accounts.identity.models import IdentityProvider
from accounts.models import StaffUser
from attempts.models import Session
from catalogue.models import CaseStudy, Programme
from console.audit.labels import TARGET_TYPES, action_label, field_label
from console.exports.models import ExportJob
from console.list_files.kinds import FILE_KINDS
from console.webhooks.models import WebhookEndpoint
from students.models import Cohort, Student, StudentCluster, StudentGroup

INLINE_ITEMS = 3  # a list longer than this reads as "45 case studies", its names behind a disclosure
SHORT_TEXT = 80  # longer text is cut to this, the whole behind a disclosure
BIGINT_DIGITS = 18


@dataclass(frozen=True)
class Ref:
    label: str
    url: str = ""


@dataclass
class Value:
    """One recorded value as the page shows it: nothing ("—"), text (cut when long), one
    record, or several (summarised when many)."""

    text: str = ""
    full: str = ""  # the whole of a cut text
    ref: Ref | None = None
    refs: list = field(default_factory=list)
    summary: str = ""  # "45 case studies", when `refs` (or the texts in it) are many
    empty: bool = False


@dataclass
class Item:
    label: str
    after: Value
    before: Value | None = None  # set for a change: before → after


@dataclass
class Row:
    event: object
    action: str
    record_type: str
    record: Ref | None
    items: list


@dataclass(frozen=True)
class Kind:
    noun: str
    plural: str
    load: object  # {id as text} -> {id as text: Ref}
    numeric: bool = False  # integer primary keys: other ids match nothing


def _url(name, *args, **query):
    url = reverse(f"console:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _students(ids):
    rows = Student.objects.filter(pk__in=ids).values_list("user_id", "first_name", "last_name", "deleted_at")
    return {
        pk: Ref(f"{first} {last} (deleted)") if deleted else Ref(f"{first} {last}", _url("student", pk))
        for pk, first, last, deleted in rows
    }


def _case_studies(ids):
    return {pk: Ref(title, _url("case_study", pk)) for pk, title in CaseStudy.objects.filter(pk__in=ids).values_list("pk", "title")}


def _programmes(ids):
    rows = Programme.objects.filter(pk__in=ids).values_list("pk", "code", "name")
    return {str(pk): Ref(f"{name} ({code})", _url("students", programme=code)) for pk, code, name in rows}


def _cohorts(ids):
    return {pk: Ref(name, _url("students", cohort=pk)) for pk, name in Cohort.objects.filter(pk__in=ids).values_list("pk", "name")}


def _groups(ids):
    return {pk: Ref(name, _url("group", pk)) for pk, name in StudentGroup.objects.filter(pk__in=ids).values_list("pk", "name")}


def _clusters(ids):
    rows = StudentCluster.objects.filter(pk__in=ids).values_list("pk", "name")
    return {pk: Ref(name, _url("groups", cluster=pk)) for pk, name in rows}


def _staff(ids):
    return {str(pk): Ref(email) for pk, email in StaffUser.objects.filter(pk__in=ids).values_list("pk", "email")}


def _sessions(ids):
    rows = Session.objects.filter(pk__in=ids).values_list(
        "pk", "case_study__title", "student__first_name", "student__last_name"
    )
    return {pk: Ref(f"{title} — {first} {last}", _url("attempt", pk)) for pk, title, first, last in rows}


def _exports(ids):
    rows = ExportJob.objects.filter(pk__in=ids).values_list("pk", "kind", "created_at")
    return {
        pk: Ref(f"{FILE_KINDS[kind].label if kind in FILE_KINDS else kind} export of {created:%-d %b %Y}", _url("export", pk))
        for pk, kind, created in rows
    }


def _webhooks(ids):
    rows = WebhookEndpoint.objects.filter(pk__in=ids).values_list("pk", "description", "url")
    return {pk: Ref(description or url, _url("webhook", pk)) for pk, description, url in rows}


def _providers(ids):
    rows = IdentityProvider.objects.filter(pk__in=ids).values_list("pk", "name")
    return {pk: Ref(name, _url("identity_provider", pk)) for pk, name in rows}


KINDS = {
    "student": Kind("student", "students", _students),
    "case_study": Kind("case study", "case studies", _case_studies),
    "programme": Kind("programme", "programmes", _programmes, numeric=True),
    "cohort": Kind("cohort", "cohorts", _cohorts),
    "student_group": Kind("group", "groups", _groups),
    "student_cluster": Kind("cluster", "clusters", _clusters),
    "staff_user": Kind("staff user", "staff users", _staff, numeric=True),
    "session": Kind("attempt", "attempts", _sessions),
    "export_job": Kind("background export", "background exports", _exports),
    "webhook": Kind("webhook endpoint", "webhook endpoints", _webhooks),
    "identity_provider": Kind("identity provider", "identity providers", _providers),
}
# Values that are ids of a record: in `changes` (a student's cohort), in `detail` (a grant's
# case study, a gradebook's case studies) and in a download's `detail.filters`.
CHANGE_IDS = {"cohort": "cohort", "advisor": "staff_user", "cluster": "student_cluster"}
DETAIL_IDS = {
    "case_study_id": "case_study", "student_id": "student", "group_id": "student_group", "user_ids": "student",
    "case_studies": "case_study",
}
FILTER_IDS = {"cohort": "cohort", "advisor": "staff_user", "group": "student_group", "student_cluster": "student_cluster"}
# Said by another value of the same event: the grant's ledger row, its delta (the allowance's
# before → after says it), a group's name (its id is resolved).
HIDDEN_DETAIL = frozenset({"grant_id", "group_name"})
# Records the page names without a query.
NAMED_RECORDS = {
    "student_list": {kind.audit_target: Ref(f"{kind.label} file") for kind in FILE_KINDS.values()},
    "sign_in_policy": {"1": Ref("Sign-in policy")},
}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _id_values(event):
    """(kind, id) of every record the event names."""
    if event.target_type in KINDS:
        yield event.target_type, event.target_id
    for name, pair in (event.changes or {}).items():
        if name in CHANGE_IDS:
            yield from ((CHANGE_IDS[name], v) for v in pair if v is not None)
    detail = event.detail or {}
    for name, value in detail.items():
        if name in DETAIL_IDS:
            yield from ((DETAIL_IDS[name], v) for v in _as_list(value) if v is not None)
    filters = detail.get("filters")
    for name, value in (filters.items() if isinstance(filters, dict) else ()):
        if name in FILTER_IDS:
            yield from ((FILTER_IDS[name], v) for v in _as_list(value) if v)


def _wanted(ids, kind):
    ids = {str(i) for i in ids}
    if kind.numeric:
        ids = {i for i in ids if i.isdigit() and len(i) <= BIGINT_DIGITS}
    return ids


def _names(events):
    """{kind: {id: Ref}} of every record the events name: one query per kind."""
    wanted = defaultdict(set)
    for event in events:
        for kind, value in _id_values(event):
            wanted[kind].add(value)
    names = {}
    for name, ids in wanted.items():
        ids = _wanted(ids, KINDS[name])
        names[name] = KINDS[name].load(ids) if ids else {}
    return names


class _Reader:
    """Turns one page's events into rows, with the names resolved once for the page."""

    def __init__(self, names):
        self.names = names

    def ref(self, kind, value, *, recorded_name=""):
        found = self.names.get(kind, {}).get(str(value))
        if found is not None:
            return found
        noun = KINDS[kind].noun if kind in KINDS else TARGET_TYPES.get(kind, kind).lower()
        if recorded_name:
            return Ref(f"{recorded_name} (deleted {noun})")
        return Ref(f"deleted {noun} (id {value})")

    def value(self, value, kind=None):
        if value is None or value == "" or value == []:
            return Value(empty=True)
        if kind is not None:
            refs = [self.ref(kind, v) for v in _as_list(value)]
            if isinstance(value, list):
                return self.many(refs, KINDS[kind])
            return Value(ref=refs[0])
        if isinstance(value, bool):
            return Value(text="yes" if value else "no")
        if isinstance(value, list):
            return self.many([Ref(_text(v)) for v in value], None)
        return _cut(_text(value))

    @staticmethod
    def many(refs, kind):
        if len(refs) <= INLINE_ITEMS:
            return Value(refs=refs)
        plural = kind.plural if kind else "values"
        return Value(refs=refs, summary=f"{len(refs):,} {plural}")

    def changes(self, event):
        """before → after of each field; a record created (nothing before) or deleted (nothing
        after) reads as its values alone."""
        changes = event.changes or {}
        created, deleted = event.action.endswith(".create"), event.action.endswith(".delete")
        items = []
        for name, (before, after) in changes.items():
            kind = CHANGE_IDS.get(name)
            if created or deleted:
                items.append(Item(field_label(name), self.value(before if deleted else after, kind)))
            else:
                items.append(Item(field_label(name), self.value(after, kind), before=self.value(before, kind)))
        return items

    def details(self, event):
        detail = event.detail or {}
        hidden = HIDDEN_DETAIL | ({"delta"} if "extra_attempts" in (event.changes or {}) else set())
        items = []
        for name, value in detail.items():
            if name in hidden:
                continue
            if name == "filters" and isinstance(value, dict):
                items += [
                    Item(f"Filter: {field_label(key).lower()}", self.value(_single(v), FILTER_IDS.get(key)))
                    for key, v in value.items()
                ]
                continue
            kind = DETAIL_IDS.get(name)
            if name == "kind" and value in FILE_KINDS:  # a background export's kind of file
                items.append(Item(field_label(name), Value(text=FILE_KINDS[value].label)))
                continue
            if name == "group_id" and value is not None:
                items.append(Item(field_label(name), Value(ref=self.ref(kind, value, recorded_name=detail.get("group_name", "")))))
                continue
            items.append(Item(field_label(name), self.value(value, kind)))
        return items

    def record(self, event):
        if event.target_type in NAMED_RECORDS:
            return NAMED_RECORDS[event.target_type].get(event.target_id, Ref(event.target_id))
        if event.target_type in KINDS:
            return self.ref(event.target_type, event.target_id, recorded_name=_recorded_name(event))
        return Ref(event.target_id)

    def row(self, event):
        return Row(
            event=event,
            action=action_label(event.action),
            record_type=TARGET_TYPES.get(event.target_type, event.target_type),
            record=self.record(event),
            items=self.changes(event) + self.details(event),
        )


def _single(values):
    """A filter as the query string gave it: a list of one value reads as that value."""
    return values[0] if isinstance(values, list) and len(values) == 1 else values


def _text(value):
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k).lower()}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _cut(text):
    if len(text) <= SHORT_TEXT:
        return Value(text=text)
    return Value(text=text[: SHORT_TEXT - 1].rstrip() + "…", full=text)


def _recorded_name(event):
    """The name the event itself recorded of its record (a deletion keeps it in `before`)."""
    changes = event.changes or {}
    for name in ("name", "title", "email"):
        pair = changes.get(name)
        if pair:
            return pair[0] or pair[1] or ""
    first, last = changes.get("first_name"), changes.get("last_name")
    if first and last:
        return f"{first[0] or first[1]} {last[0] or last[1]}"
    return ""


def readable_events(events):
    """Rows of `events` (a page of them) with every record named. Queries: one per kind of
    record the events name (students, case studies, cohorts, …), whatever their number."""
    reader = _Reader(_names(events))
    return [reader.row(event) for event in events]
