"""Reads of staff users: the staff list an admin chooses a student's advisor from."""
from django.db.models import Prefetch

from accounts.models import Role, StaffUser


def staff_list():
    """Active staff users by name then email, with their roles (one more query for a page's roles)."""
    staff = StaffUser.objects.filter(is_active=True).only("id", "full_name", "email")
    staff = staff.prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("name").only("id", "name")))
    return staff.order_by("full_name", "email", "id")


def staff_choices():
    """(id, label) of every active staff user, for an advisor select: one query."""
    rows = StaffUser.objects.filter(is_active=True).order_by("full_name", "email", "id").values_list("id", "full_name", "email")
    return [(pk, f"{name} ({email})" if name else email) for pk, name, email in rows]
