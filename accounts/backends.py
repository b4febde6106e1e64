"""The console's session sign-in: Django's ModelBackend, reading the signed-in user with their
permission strings in one statement (config.compiled) where ModelBackend takes two, the user and
then their roles when a page first checks a permission, on every request."""
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import BigIntegerField, Value
from django.db.models.functions import Cast

from accounts.authentication import role_permissions
from accounts.models import StaffUser
from config.compiled import Slot, compiled_once

# A session stores the dotted path of the backend that signed it in, and Django reads its user
# through that backend only while it is listed in AUTHENTICATION_BACKENDS: ModelBackend stays
# listed after this one for the sessions it signed in (read by its own two statements).
STAFF_BACKEND = "accounts.backends.StaffBackend"


class StaffBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        """ModelBackend's; refused credentials stop here (PermissionDenied ends Django's walk of
        the backends, and it signals the failure as for None): ModelBackend, listed after this,
        would check them again and hash the password a second time."""
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        """The active user with this id, its permission strings read with it; None otherwise."""
        found = _user_with_permissions()(user_id=user_id)
        if not found or not self.user_can_authenticate(found[0]):
            return None
        user = found[0]
        user.set_permission_strings(user.role_permissions)
        return user


@compiled_once(maxsize=1)
def _user_with_permissions():
    # The id as a parameter cast in SQL: a Slot stands in as text, which the id field's own
    # conversion would refuse.
    user_id = Cast(Value(Slot("user_id")), output_field=BigIntegerField())
    users = StaffUser.objects.annotate(role_permissions=role_permissions(f"{StaffUser._meta.db_table}.id"))
    return users.filter(pk=user_id)[:1]
