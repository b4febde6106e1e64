"""Reads for student clusters and groups (their results on case studies are
attempts.group_results').

A group's members, as every list and count here sees them, are its memberships whose
student is neither archived nor deleted (archiving moves memberships aside, see
ArchivedMembership; soft-deleted students keep their rows but are no longer counted).
"""
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Lower

from config.errors import AppError
from students.models import GroupMembership, Student, StudentCluster, StudentGroup, name_order

LISTED_MEMBER = Q(student__archived=False, student__deleted_at__isnull=True)


def _count_subquery(queryset, outer_field):
    """count(*) of `queryset` rows pointing at the outer row, as a correlated subquery."""
    counted = queryset.filter(**{outer_field: OuterRef("pk")}).order_by().values(outer_field)
    counted = counted.annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# Clusters ---------------------------------------------------------------------------------


def student_cluster_list():
    """Clusters by name, each with `group_count`."""
    # A correlated count is evaluated only for the page's rows; a joined Count would group every group.
    qs = StudentCluster.objects.all()
    qs = qs.annotate(group_count=_count_subquery(StudentGroup.objects.all(), "cluster"))
    return qs.order_by("name", "id")


def student_cluster_get(*, cluster_id):
    cluster = student_cluster_list().filter(pk=cluster_id).first()
    if cluster is None:
        raise AppError.not_found()
    return cluster


# Groups -----------------------------------------------------------------------------------


def student_group_list(*, cluster_id=None):
    """Groups by name, each with `member_count` (archived and deleted students excluded)."""
    qs = StudentGroup.objects.all()
    if cluster_id is not None:
        qs = qs.filter(cluster_id=cluster_id)
    # A correlated count is evaluated only for the page's rows; a joined Count would group every membership.
    listed_memberships = GroupMembership.objects.filter(LISTED_MEMBER)
    qs = qs.annotate(member_count=_count_subquery(listed_memberships, "group"))
    return qs.order_by("name", "id")


def student_group_get(*, group_id):
    group = student_group_list().filter(pk=group_id).first()
    if group is None:
        raise AppError.not_found()
    return group


def student_group_members(*, group):
    """The group's listed members, by name then user_id."""
    qs = Student.objects.filter(
        group_memberships__group=group, archived=False, deleted_at__isnull=True
    )
    qs = qs.annotate(added_at=F("group_memberships__added_at"))
    return qs.order_by(name_order(Lower("full_name")), "user_id")
