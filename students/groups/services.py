"""Writes for student clusters, groups and group memberships. Each takes the ids it acts on,
finds (and locks) the records once, and raises 404 or a 400 naming the field itself.

Membership rules: only existing, non-deleted students can be added or removed; archived
students cannot be added (archiving takes them out of groups and unarchiving brings them
back, see students.records.services); adding a member twice or removing a non-member changes
nothing. A request naming any student it may not act on changes nothing at all.
"""
from django.db import transaction
from django.utils import timezone

from accounts.audit.services import audit_record, audit_record_many, audit_snapshot
from config.errors import AppError
from students.models import ArchivedMembership, GroupMembership, Student, StudentCluster, StudentGroup
from students.records.services import students_lock_for_bulk

MSG_CLUSTER_NOT_FOUND = "No student cluster has this id."
GROUP_FIELDS = ("name", "cluster")
MSG_CLUSTER_HAS_GROUPS = "This cluster still has groups; move or delete them first."
MSG_UNKNOWN_STUDENTS = "No student has these ids: {ids}."
MSG_ARCHIVED_STUDENTS = "Archived students cannot be added to a group: {ids}."


def _cluster_for(cluster_id):
    cluster = StudentCluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        raise AppError.validation({"student_cluster_id": MSG_CLUSTER_NOT_FOUND})
    return cluster


@transaction.atomic
def student_cluster_create(*, name):
    cluster = StudentCluster.objects.create(name=name)
    _audit("student_cluster.create", "student_cluster", cluster, after={"name": name})
    return cluster


def _audit(action, target_type, record, *, before=None, after=None, detail=None):
    audit_record(action=action, target_type=target_type, target_id=record.pk, before=before, after=after, detail=detail)


def _locked(model, pk):
    record = model.objects.select_for_update().filter(pk=pk).first()
    if record is None:
        raise AppError.not_found()
    return record


@transaction.atomic
def student_cluster_update(*, cluster_id, name=None):
    cluster = _locked(StudentCluster, cluster_id)
    before = {"name": cluster.name}
    if name is not None:
        cluster.name = name
        cluster.save(update_fields=["name", "updated_at"])
    _audit("student_cluster.update", "student_cluster", cluster, before=before, after={"name": cluster.name})
    return cluster


@transaction.atomic
def student_cluster_delete(*, cluster_id):
    """Delete an empty cluster; one that still has groups is a 409 and stays."""
    cluster = _locked(StudentCluster, cluster_id)
    group_count = StudentGroup.objects.filter(cluster=cluster).count()
    if group_count:
        raise AppError.conflict(MSG_CLUSTER_HAS_GROUPS, errors={"group_count": [str(group_count)]})
    _audit("student_cluster.delete", "student_cluster", cluster, before={"name": cluster.name})
    cluster.delete()


@transaction.atomic
def student_group_create(*, name, student_cluster_id):
    group = StudentGroup.objects.create(name=name, cluster=_cluster_for(student_cluster_id))
    _audit("student_group.create", "student_group", group, after=audit_snapshot(group, GROUP_FIELDS))
    return group


@transaction.atomic
def student_group_update(*, group_id, name=None, student_cluster_id=None):
    """Change the name and/or the cluster; fields left as None are kept."""
    group = _locked(StudentGroup, group_id)
    before = audit_snapshot(group, GROUP_FIELDS)
    fields = []
    if name is not None:
        group.name = name
        fields.append("name")
    if student_cluster_id is not None:
        group.cluster = _cluster_for(student_cluster_id)
        fields.append("cluster")
    if fields:
        group.save(update_fields=fields + ["updated_at"])
    _audit("student_group.update", "student_group", group, before=before, after=audit_snapshot(group, GROUP_FIELDS))
    return group


@transaction.atomic
def student_group_delete(*, group_id):
    """Delete the group with its memberships (current and those remembered for archived students)."""
    group = _locked(StudentGroup, group_id)
    _audit("student_group.delete", "student_group", group, before=audit_snapshot(group, GROUP_FIELDS))
    group.delete()


def _lock_group(group_id):
    """Serialise member changes on one group (404 when there is none). NO KEY UPDATE, so the
    foreign-key checks of concurrent membership inserts elsewhere (archiving, which locks the
    student first) do not wait on it and no lock cycle can form."""
    group = StudentGroup.objects.select_for_update(no_key=True).filter(pk=group_id).first()
    if group is None:
        raise AppError.not_found()
    return group


def _lock_students(user_ids):
    """The named students, row-locked in id order so a concurrent archive cannot slip in
    between the check and the write. Raises a 400 naming unknown or deleted ids."""
    students = list(
        Student.objects.select_for_update()
        .filter(user_id__in=user_ids, deleted_at__isnull=True)
        .order_by("user_id")
        .only("user_id", "archived")
    )
    found = {s.user_id for s in students}
    unknown = [user_id for user_id in user_ids if user_id not in found]
    if unknown:
        raise AppError.validation({"user_ids": MSG_UNKNOWN_STUDENTS.format(ids=", ".join(unknown))})
    return students


def _audit_members(action, group, user_ids):
    """One event on the group naming the students, and one on each student (their history)."""
    detail = {"group_id": group.pk, "group_name": group.name}
    _audit(action, "student_group", group, detail={"user_ids": list(user_ids)})
    audit_record_many(action=action, target_type="student", targets=[(user_id, detail) for user_id in user_ids])


def _touch(group):
    """A change of members is a change of the group, for clients syncing on updated_at."""
    StudentGroup.objects.filter(pk=group.pk).update(updated_at=timezone.now())


@transaction.atomic
def student_group_members_add(*, group_id, user_ids):
    """Add students to the group. Returns {"added": n, "already_members": n}."""
    group = _lock_group(group_id)
    students = _lock_students(user_ids)
    archived = [s.user_id for s in students if s.archived]
    if archived:
        raise AppError.validation({"user_ids": MSG_ARCHIVED_STUDENTS.format(ids=", ".join(archived))})
    existing = set(
        GroupMembership.objects.filter(group=group, student_id__in=user_ids).values_list("student_id", flat=True)
    )
    new = [GroupMembership(group=group, student_id=s.user_id) for s in students if s.user_id not in existing]
    GroupMembership.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        _touch(group)
        _audit_members("student_group.members_add", group, [m.student_id for m in new])
    return {"added": len(new), "already_members": len(existing)}


@transaction.atomic
def student_group_members_remove(*, group_id, user_ids):
    """Remove students from the group, including memberships remembered for archived
    students (so unarchiving does not bring them back). Returns {"removed": n, "not_members": n}."""
    group = _lock_group(group_id)
    _lock_students(user_ids)
    # Who was a member: their removals are audited (and are change-feed events), not the others'.
    members = set(GroupMembership.objects.filter(group=group, student_id__in=user_ids).values_list("student_id", flat=True))
    members |= set(ArchivedMembership.objects.filter(group=group, student_id__in=user_ids).values_list("student_id", flat=True))
    removed, _ = GroupMembership.objects.filter(group=group, student_id__in=user_ids).delete()
    remembered, _ = ArchivedMembership.objects.filter(group=group, student_id__in=user_ids).delete()
    removed_total = removed + remembered
    if removed_total:
        _touch(group)
        _audit_members("student_group.members_remove", group, [u for u in dict.fromkeys(user_ids) if u in members])
    return {"removed": removed_total, "not_members": max(0, len(user_ids) - removed_total)}


# Bulk membership changes from a list of students (the console's bulk bar and its JSON twins):
# all or nothing, a refusal naming each student it cannot act on, an audit event per student.

MSG_BULK_ADD_REFUSED = "Nobody was added to the group: some students cannot be; see errors for each id."
MSG_BULK_REMOVE_REFUSED = "Nobody was removed from the group: some students cannot be; see errors for each id."
REASON_ARCHIVED = "this student is archived; archived students cannot be added to a group."


@transaction.atomic
def student_group_members_add_bulk(*, group_id, user_ids):
    """Add up to MAX_BULK_IDS students (config.bulk, checked by students_lock_for_bulk) to the
    group, all or nothing (BulkRefused, changing nothing, when any is malformed, unknown,
    deleted or archived). Returns the group and, per student, the outcome:
    {"added": [ids], "already_members": [ids]}; each student added is audited."""
    group = _lock_group(group_id)
    ids = students_lock_for_bulk(
        user_ids, refuse=lambda archived: REASON_ARCHIVED if archived else None, message=MSG_BULK_ADD_REFUSED
    )
    existing = set(GroupMembership.objects.filter(group=group, student_id__in=ids).values_list("student_id", flat=True))
    added = [u for u in ids if u not in existing]
    GroupMembership.objects.bulk_create([GroupMembership(group=group, student_id=u) for u in added], ignore_conflicts=True)
    if added:
        _touch(group)
        _audit_members("student_group.members_add", group, added)
    return group, {"added": added, "already_members": [u for u in ids if u in existing]}


@transaction.atomic
def student_group_members_remove_bulk(*, group_id, user_ids):
    """Remove up to MAX_BULK_IDS students from the group (remembered memberships of archived
    students too), all or nothing (BulkRefused when any is malformed, unknown or deleted).
    Returns the group and {"removed": [ids], "not_members": [ids]}; each student removed is
    audited."""
    group = _lock_group(group_id)
    ids = students_lock_for_bulk(user_ids, refuse=lambda archived: None, message=MSG_BULK_REMOVE_REFUSED)
    members = set(GroupMembership.objects.filter(group=group, student_id__in=ids).values_list("student_id", flat=True))
    members |= set(ArchivedMembership.objects.filter(group=group, student_id__in=ids).values_list("student_id", flat=True))
    removed = [u for u in ids if u in members]
    if removed:
        GroupMembership.objects.filter(group=group, student_id__in=removed).delete()
        ArchivedMembership.objects.filter(group=group, student_id__in=removed).delete()
        _touch(group)
        _audit_members("student_group.members_remove", group, removed)
    return group, {"removed": removed, "not_members": [u for u in ids if u not in members]}
