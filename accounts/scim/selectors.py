"""Reads of SCIM tokens and of the staff users SCIM sees, all in the current tenant's schema
(so a token or a user of another tenant is never found)."""
from django.db.models import QuerySet

from accounts.identity.models import ScimToken
from accounts.models import StaffUser, hash_token
from accounts.scim.protocol import ScimError
from config.errors import AppError
from config.ids import check_id

MSG_SCIM_TOKEN_NOT_FOUND = "No SCIM token with this id on this tenant."
MSG_SCIM_USER_NOT_FOUND = "No user with this id here."
MAX_USER_ID = 2**63 - 1


def scim_token_list() -> QuerySet:
    """Every SCIM token of the tenant, revoked ones included, newest first."""
    return ScimToken.objects.order_by("-created_at", "-id")


def access_scim_token(*, token_id, locked=False) -> ScimToken:
    """The token, else 404 (a malformed id: a 400 naming scim_token_id). One query."""
    check_id(token_id, field="scim_token_id")
    tokens = ScimToken.objects.select_for_update() if locked else ScimToken.objects
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise AppError.not_found(MSG_SCIM_TOKEN_NOT_FOUND)
    return token


def scim_token_for_key(raw: str) -> ScimToken | None:
    """The unrevoked token whose key this is, by its hash. One query."""
    return ScimToken.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()


def scim_users() -> QuerySet:
    """The staff users that are SCIM resources: all but those a SCIM client deleted (until it
    creates their userName again). Every staff user counts, however made, so an identity
    provider finds the accounts that were there before it (its filter by userName) and can
    deactivate them."""
    return StaffUser.objects.filter(scim_unlinked_at__isnull=True)


def access_scim_user(*, user_id, locked=False) -> StaffUser:
    """The SCIM user with this id (the staff user's id), its row locked until the transaction
    ends when `locked`; else a SCIM 404. One query."""
    if not (user_id.isascii() and user_id.isdigit() and int(user_id) <= MAX_USER_ID):
        raise ScimError(404, MSG_SCIM_USER_NOT_FOUND)
    users = scim_users().select_for_update() if locked else scim_users()
    user = users.filter(pk=int(user_id)).first()
    if user is None:
        raise ScimError(404, MSG_SCIM_USER_NOT_FOUND)
    return user


def scim_user_page(*, condition, start_index: int, count: int) -> tuple[int, list[StaffUser]]:
    """(how many users match, the page of them from the 1-based `start_index`) in id order.
    Queries: the count, then the page when it is not empty."""
    users = scim_users().filter(condition).order_by("pk")
    total = users.count()
    if count == 0 or start_index > total:
        return total, []
    return total, list(users[start_index - 1 : start_index - 1 + count])
