"""The registry of bulk actions: each is what the bar offers, the form requires, the view runs
and says. The services are the ones the JSON bulk endpoints call, so the rules, refusals and
audit events are the same."""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.formats import date_format

from accounts.permissions import ATTEMPTS_MANAGE, CATALOG_EDIT, USER_MANAGEMENT_EDIT, has_permission
from attempts.grants.services import attempts_grant_bulk, attempts_revoke_bulk
from config.errors import BulkRefused
from console.pages import plural
from students.groups.services import student_group_members_add_bulk, student_group_members_remove_bulk
from students.records.services import students_archive_bulk, students_unarchive_bulk

GRANT, REVOKE, ARCHIVE, UNARCHIVE, GROUP_ADD, GROUP_REMOVE = (
    "grant", "revoke", "archive", "unarchive", "group_add", "group_remove"
)
WITHDRAWN, GRADUATED = "withdrawn", "graduated"

# What each action says when done (staff words).
MSG_BULK_GRANTED = "Granted {n} extra attempt{s} on “{title}” to {count} student{cs}."
MSG_BULK_REVOKED = "Revoked {n} extra attempt{s} on “{title}” from {count} student{cs}."
MSG_BULK_ARCHIVED = "Archived {count} student{cs} as {kind} on {day}."
MSG_BULK_UNARCHIVED = "Unarchived {count} student{cs}; they are enrolled again."
MSG_BULK_ADDED = "Added {count} student{cs} to “{group}”."
MSG_BULK_ALREADY = " {n} {were} already in it."
MSG_BULK_REMOVED = "Removed {count} student{cs} from “{group}”."
MSG_BULK_NOT_MEMBERS = " {n} {were} not in it."
# The preview's confirm button: the action and how many it changes.
MSG_CONFIRM_GRANT = "Grant {n} attempt{s} on “{title}” to {count} student{cs}"
MSG_CONFIRM_REVOKE = "Revoke {n} attempt{s} on “{title}” from {count} student{cs}"
MSG_CONFIRM_ARCHIVE = "Archive {count} student{cs} as {kind} on {day}"
MSG_CONFIRM_UNARCHIVE = "Unarchive {count} student{cs}"
MSG_CONFIRM_ADD = "Add {count} student{cs} to “{group}”"
MSG_CONFIRM_REMOVE = "Remove {count} student{cs} from “{group}”"


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    permission: str
    # The form fields it needs beside the students (console.bulk.forms requires them).
    fields: tuple[str, ...]
    # The service it calls with `user_ids` and what `arguments(form data, actor)` gives.
    service: Callable[..., Any]
    arguments: Callable[[dict, Any], dict]
    # The sentence when done, from the form data and the service's answer.
    done: Callable[[dict, Any], str]
    # Heads the list of refused students when the service refused them all.
    nothing_done: str
    # How many students the service's answer changed (group members already in place are not).
    changed: Callable[[Any], int]
    # The preview's confirm button, from the form data, that count and the rehearsed answer.
    confirm: Callable[[dict, int, Any], str]
    # What else than narrowing the filters makes the refused students eligible.
    instead: str

    def run(self, data, *, actor):
        """Call the service on data["user_ids"]; the sentence saying what was done. Raises what
        the service raises (AppError, BulkRefused), having changed nothing."""
        answer = self.service(user_ids=data["user_ids"], **self.arguments(data, actor))
        return self.done(data, answer)

    def rehearse(self, data, *, actor):
        """What `run` would do, doing nothing: (ids it would act on, the service's answer for
        them or None when none is left, {id: reason} of those the service refuses). The service
        itself runs, with its own checks, in a transaction that is always rolled back: first on
        every id, then, when some are refused, on the others (its checks are all or nothing).
        Raises the AppError of a refusal that is not about students (bad input, a case study or
        group gone)."""
        ids, refused, answer = list(data["user_ids"]), {}, None
        with transaction.atomic():
            while ids:
                try:
                    answer = self.service(user_ids=ids, **self.arguments(data, actor))
                    break
                except BulkRefused as error:
                    newly = {user_id: reason for user_id, reason in error.refused.items() if user_id in ids}
                    if not newly:  # nothing to set aside: refuse the rest rather than loop
                        newly = dict.fromkeys(ids, next(iter(error.refused.values())))
                    refused.update(newly)
                    ids = [user_id for user_id in ids if user_id not in newly]
            transaction.set_rollback(True)
        return ids, answer, refused


def _were(n):
    return "was" if n == 1 else "were"


def _attempt_change_arguments(data, actor):
    return {"case_study_id": data["case_study"], "attempts": data["attempts"], "reason": data["reason"], "actor": actor}


def _attempts_changed(sentence):
    def done(data, changed):
        n, count = data["attempts"], len(changed)
        title = changed[0].grant.case_study.title
        return sentence.format(n=n, s=plural(n), title=title, count=count, cs=plural(count))

    return done


def _attempts_confirm(sentence):
    def confirm(data, count, changed):
        n = data["attempts"]
        return sentence.format(n=n, s=plural(n), title=changed[0].grant.case_study.title, count=count, cs=plural(count))

    return confirm


def _archive_confirm(data, count, ids):
    day = date_format(data["archive_on"], "j F Y")
    return MSG_CONFIRM_ARCHIVE.format(count=count, cs=plural(count), kind=data["archive_as"], day=day)


def _group_confirm(sentence):
    def confirm(data, count, answer):
        return sentence.format(count=count, cs=plural(count), group=answer[0].name)

    return confirm


def _archive_arguments(data, actor):
    day = data["archive_on"]
    return {"withdrawn_on": day} if data["archive_as"] == WITHDRAWN else {"graduated_on": day}


def _archived(data, ids):
    count = len(ids)
    day = date_format(data["archive_on"], "j F Y")
    return MSG_BULK_ARCHIVED.format(count=count, cs=plural(count), kind=data["archive_as"], day=day)


def _unarchived(data, ids):
    count = len(ids)
    return MSG_BULK_UNARCHIVED.format(count=count, cs=plural(count))


def _group_arguments(data, actor):
    return {"group_id": data["group"]}


def _added(data, answer):
    group, outcome = answer
    count, already = len(outcome["added"]), len(outcome["already_members"])
    message = MSG_BULK_ADDED.format(count=count, cs=plural(count), group=group.name)
    return message + (MSG_BULK_ALREADY.format(n=already, were=_were(already)) if already else "")


def _removed(data, answer):
    group, outcome = answer
    count, outside = len(outcome["removed"]), len(outcome["not_members"])
    message = MSG_BULK_REMOVED.format(count=count, cs=plural(count), group=group.name)
    return message + (MSG_BULK_NOT_MEMBERS.format(n=outside, were=_were(outside)) if outside else "")


ATTEMPT_FIELDS = ("case_study", "attempts", "reason")

BULK_ACTIONS = {
    action.name: action
    for action in (
        BulkAction(
            name=GRANT,
            label="Grant extra attempts",
            permission=ATTEMPTS_MANAGE,
            fields=ATTEMPT_FIELDS,
            service=attempts_grant_bulk,
            arguments=_attempt_change_arguments,
            done=_attempts_changed(MSG_BULK_GRANTED),
            nothing_done="Nothing was granted.",
            changed=len,
            confirm=_attempts_confirm(MSG_CONFIRM_GRANT),
            instead="choose another case study",
        ),
        BulkAction(
            name=REVOKE,
            label="Revoke extra attempts",
            permission=ATTEMPTS_MANAGE,
            fields=ATTEMPT_FIELDS,
            service=attempts_revoke_bulk,
            arguments=_attempt_change_arguments,
            done=_attempts_changed(MSG_BULK_REVOKED),
            nothing_done="Nothing was revoked.",
            changed=len,
            confirm=_attempts_confirm(MSG_CONFIRM_REVOKE),
            instead="choose another case study",
        ),
        BulkAction(
            name=ARCHIVE,
            label="Archive",
            permission=USER_MANAGEMENT_EDIT,
            fields=("archive_as", "archive_on"),
            service=students_archive_bulk,
            arguments=_archive_arguments,
            done=_archived,
            nothing_done="Nobody was archived.",
            changed=len,
            confirm=_archive_confirm,
            instead="choose other students",
        ),
        BulkAction(
            name=UNARCHIVE,
            label="Unarchive",
            permission=USER_MANAGEMENT_EDIT,
            fields=(),
            service=students_unarchive_bulk,
            arguments=lambda data, actor: {},
            done=_unarchived,
            nothing_done="Nobody was unarchived.",
            changed=len,
            confirm=lambda data, count, ids: MSG_CONFIRM_UNARCHIVE.format(count=count, cs=plural(count)),
            instead="choose other students",
        ),
        BulkAction(
            name=GROUP_ADD,
            label="Add to a group",
            permission=CATALOG_EDIT,
            fields=("group",),
            service=student_group_members_add_bulk,
            arguments=_group_arguments,
            done=_added,
            nothing_done="Nobody was added to the group.",
            changed=lambda answer: len(answer[1]["added"]),
            confirm=_group_confirm(MSG_CONFIRM_ADD),
            instead="choose another group",
        ),
        BulkAction(
            name=GROUP_REMOVE,
            label="Remove from a group",
            permission=CATALOG_EDIT,
            fields=("group",),
            service=student_group_members_remove_bulk,
            arguments=_group_arguments,
            done=_removed,
            nothing_done="Nobody was removed from the group.",
            changed=lambda answer: len(answer[1]["removed"]),
            confirm=_group_confirm(MSG_CONFIRM_REMOVE),
            instead="choose another group",
        ),
    )
}
# A post without `action` is a grant, as the bar's first button is.
DEFAULT_ACTION = GRANT

# What the bar offers, in its order: on the Archived list only what applies to archived
# students (they take no attempts, revoking stays possible).
OFFERED = {
    False: (GRANT, REVOKE, ARCHIVE, GROUP_ADD, GROUP_REMOVE),
    True: (UNARCHIVE, REVOKE, GROUP_REMOVE),
}


def bulk_action_for(name):
    """The action of that name; the default one for a missing or unknown name (the form then
    names the unknown action)."""
    return BULK_ACTIONS.get(name or DEFAULT_ACTION, BULK_ACTIONS[DEFAULT_ACTION])


def bulk_actions_for(user, *, archived):
    """[(action, label)] the bar offers this user on this list: only what their permissions
    allow, and on the Archived list only what applies to archived students."""
    offered = (BULK_ACTIONS[name] for name in OFFERED[archived])
    return [(a.name, a.label) for a in offered if has_permission(user, a.permission)]
