"""SCIM's User resource as identity providers send it and as it is answered.

A request is read into `UserChanges` (what it says about the user, and nothing it does not):
a POST or PUT body in full, a PATCH as its operations in order, in the shapes Entra ID and
Okta send (`"op": "Replace"` capitalised, `"value": "False"` as a string, a path or none with
the attributes in `value`, `emails[type eq "work"].value`). The rules that turn the changes
into a staff user's fields (which name wins, the address being unique) are the services'.

A staff user has one address, `email`, which is the SCIM userName; `emails` is answered as
that one address, and a request that changes emails without userName changes it. What a staff
user has no place for (the enterprise extension, titles, phone numbers, addresses, locales,
passwords, groups: roles come from the identity provider's groups claim at sign-in) is
accepted and ignored, so a provider's sync never stops on it.
"""
import datetime as dt
import re
from dataclasses import dataclass

from accounts.scim.filters import item_matches, parse_filter
from accounts.scim.protocol import (
    INVALID_PATH,
    INVALID_SYNTAX,
    INVALID_VALUE,
    LIST_RESPONSE_SCHEMA,
    MUTABILITY,
    NO_TARGET,
    RESOURCE_TYPE_SCHEMA,
    SCHEMA_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA,
    USER_SCHEMA,
    ScimError,
)
from config.query import normalise_text
from config.text import forbidden_character_message

MAX_OPERATIONS = 100  # in one PATCH
MAX_RESULTS = 200  # users in one list page (ServiceProviderConfig's filter.maxResults)
USER_NAME_MAX = 254
EXTERNAL_ID_MAX = 255
NAME_PART_MAX = 150
FULL_NAME_MAX = 200

MSG_SCIM_BODY_NOT_OBJECT = "The body must be a JSON object."
MSG_SCIM_ATTRIBUTE_TYPE = "{attribute} must be {kind}."
MSG_SCIM_ATTRIBUTE_TOO_LONG = "{attribute} may hold at most {limit} characters."
MSG_SCIM_ATTRIBUTE_CONTROL = "{attribute}: remove the control characters (tabs and line breaks included)."
MSG_SCIM_USER_NAME_REQUIRED = "userName is required: the staff member's email address."
MSG_SCIM_NO_EMAIL_VALUE = "emails holds no address (value)."
MSG_SCIM_NO_OPERATIONS = f"Operations must be a list of 1 to {MAX_OPERATIONS} operations."
MSG_SCIM_OPERATION_SHAPE = "Operations[{index}] must be an object with op add, replace or remove."
MSG_SCIM_PATH_SYNTAX = "Operations[{index}]: the path {path!r} is not a valid attribute path."
MSG_SCIM_REMOVE_NEEDS_PATH = "Operations[{index}]: remove needs a path."
MSG_SCIM_VALUE_NOT_OBJECT = "Operations[{index}]: without a path, value must be an object of attributes."
MSG_SCIM_CANNOT_REMOVE = "Operations[{index}]: {attribute} cannot be removed; a staff user always has it."


@dataclass
class UserChanges:
    """What a request says about a user's attributes; None where it says nothing."""

    user_name: str | None = None
    email: str | None = None  # the address of `emails`, used when userName is not given
    external_id: str | None = None
    active: bool | None = None
    formatted: str | None = None  # name.formatted
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None


# Values -----------------------------------------------------------------------------------


def _text(value, attribute, limit, *, nullable=True, opaque=False):
    """A string attribute's value ("" for null when it may be cleared), in NFC as all text here
    is stored, unless it is `opaque` (an identifier, kept as sent)."""
    if value is None and nullable:
        return ""
    if not isinstance(value, str):
        raise ScimError(400, MSG_SCIM_ATTRIBUTE_TYPE.format(attribute=attribute, kind="a string"), INVALID_VALUE)
    value = value.strip()
    if forbidden_character_message(value):
        raise ScimError(400, MSG_SCIM_ATTRIBUTE_CONTROL.format(attribute=attribute), INVALID_VALUE)
    if not opaque:
        value = normalise_text(value)
    if len(value) > limit:
        raise ScimError(400, MSG_SCIM_ATTRIBUTE_TOO_LONG.format(attribute=attribute, limit=limit), INVALID_VALUE)
    return value


def _boolean(value, attribute):
    """true or false, also as the strings Entra ID sends ("True", "False")."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ScimError(400, MSG_SCIM_ATTRIBUTE_TYPE.format(attribute=attribute, kind="true or false"), INVALID_VALUE)
    return value


def _address_of(emails, attribute="emails"):
    """The address of an emails value: the primary one, else the work one, else the first (a
    single object, as some providers send, counts as a list of one)."""
    if isinstance(emails, dict):
        emails = [emails]
    if not isinstance(emails, list) or not all(isinstance(item, dict) for item in emails):
        raise ScimError(400, MSG_SCIM_ATTRIBUTE_TYPE.format(attribute=attribute, kind="a list of objects"), INVALID_VALUE)
    usable = [item for item in emails if item.get("value") not in (None, "")]
    if not usable:
        raise ScimError(400, MSG_SCIM_NO_EMAIL_VALUE, INVALID_VALUE)

    def rank(item):
        primary = item.get("primary") is True or str(item.get("primary")).lower() == "true"
        return (not primary, str(item.get("type") or "").lower() != "work")

    return _text(sorted(usable, key=rank)[0]["value"], f"{attribute}.value", USER_NAME_MAX, nullable=False)


def _lowered(body):
    return {str(key).lower(): value for key, value in body.items()}


# POST and PUT -----------------------------------------------------------------------------


def user_from_body(body):
    """The changes of a POST or PUT: the whole resource, every attribute it leaves out empty
    (but `active`, which only a value changes)."""
    if not isinstance(body, dict):
        raise ScimError(400, MSG_SCIM_BODY_NOT_OBJECT, INVALID_SYNTAX)
    attributes = _lowered(body)
    changes = UserChanges()
    if attributes.get("username") in (None, ""):
        raise ScimError(400, MSG_SCIM_USER_NAME_REQUIRED, INVALID_VALUE)
    changes.user_name = _text(attributes["username"], "userName", USER_NAME_MAX, nullable=False)
    changes.external_id = _text(attributes.get("externalid"), "externalId", EXTERNAL_ID_MAX, opaque=True)
    changes.display_name = _text(attributes.get("displayname"), "displayName", FULL_NAME_MAX)
    name = attributes.get("name") or {}
    if not isinstance(name, dict):
        raise ScimError(400, MSG_SCIM_ATTRIBUTE_TYPE.format(attribute="name", kind="an object"), INVALID_VALUE)
    _name_parts(changes, _lowered(name), replace_all=True)
    if attributes.get("emails") not in (None, []):
        changes.email = _address_of(attributes["emails"])
    if attributes.get("active") is not None:
        changes.active = _boolean(attributes["active"], "active")
    return changes


_NAME_PARTS = {
    "formatted": ("formatted", FULL_NAME_MAX),
    "givenname": ("given_name", NAME_PART_MAX),
    "familyname": ("family_name", NAME_PART_MAX),
}


def _name_parts(changes, name, *, replace_all):
    """name's sub-attributes into `changes` (all of them, the missing ones empty, when `replace_all`)."""
    for key, (attr, limit) in _NAME_PARTS.items():
        if key in name or replace_all:
            setattr(changes, attr, _text(name.get(key), f"name.{key}", limit))


# PATCH ------------------------------------------------------------------------------------

_PATH_ATTRIBUTE = r"[A-Za-z][A-Za-z0-9_$-]*"


def _split_path(path, index):
    """(attribute, value filter text or None, sub-attribute or None) of a PATCH path, all lower
    case but the filter; None for a path of a schema extension (ignored)."""
    lowered = path.strip().lower()
    if lowered.startswith(USER_SCHEMA.lower() + ":"):
        path = path.strip()[len(USER_SCHEMA) + 1:]
    elif lowered.startswith("urn:"):
        return None  # the enterprise extension or another one: nothing of it is kept here
    match = re.fullmatch(
        rf"\s*({_PATH_ATTRIBUTE})(?:\[(.*)\])?(?:\.({_PATH_ATTRIBUTE}))?\s*", path, re.DOTALL
    )
    if match is None:
        raise ScimError(400, MSG_SCIM_PATH_SYNTAX.format(index=index, path=path[:100]), INVALID_PATH)
    attribute, value_filter, sub = match.groups()
    return attribute.lower(), value_filter, sub.lower() if sub else None


def _email_item_of(changes, current_email):
    return {"value": changes.email or current_email, "type": "work", "primary": True}


class _Patch:
    """Applies a PATCH's operations, one after the other, to a UserChanges."""

    def __init__(self, current_email):
        self.changes = UserChanges()
        self.current_email = current_email

    def apply(self, index, op, path, value):
        if path is None:
            if op == "remove":
                raise ScimError(400, MSG_SCIM_REMOVE_NEEDS_PATH.format(index=index), NO_TARGET)
            if not isinstance(value, dict):
                raise ScimError(400, MSG_SCIM_VALUE_NOT_OBJECT.format(index=index), INVALID_VALUE)
            for key, item in value.items():
                self.apply(index, op, str(key), item)
            return
        if not isinstance(path, str):
            raise ScimError(400, MSG_SCIM_PATH_SYNTAX.format(index=index, path=str(path)[:100]), INVALID_PATH)
        parts = _split_path(path, index)
        if parts is None:
            return
        attribute, value_filter, sub = parts
        if op == "remove":
            self.remove(index, attribute, sub)
        else:
            self.set(index, attribute, value_filter, sub, value)

    def set(self, index, attribute, value_filter, sub, value):
        changes = self.changes
        if attribute == "active" and sub is None:
            changes.active = _boolean(value, "active")
        elif attribute == "username" and sub is None:
            changes.user_name = _text(value, "userName", USER_NAME_MAX, nullable=False)
        elif attribute == "externalid" and sub is None:
            changes.external_id = _text(value, "externalId", EXTERNAL_ID_MAX, opaque=True)
        elif attribute == "displayname" and sub is None:
            changes.display_name = _text(value, "displayName", FULL_NAME_MAX)
        elif attribute == "name" and sub is None:
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ScimError(400, MSG_SCIM_ATTRIBUTE_TYPE.format(attribute="name", kind="an object"), INVALID_VALUE)
            _name_parts(changes, _lowered(value), replace_all=False)
        elif attribute == "name" and sub in _NAME_PARTS:
            _name_parts(changes, {sub: value}, replace_all=False)
        elif attribute == "emails":
            self.set_email(value_filter, sub, value)
        # Anything else (title, phoneNumbers, addresses, locale, password, groups …): no place here.

    def set_email(self, value_filter, sub, value):
        if value_filter is not None:
            if not item_matches(parse_filter(value_filter), _email_item_of(self.changes, self.current_email)):
                return  # another address (home, other): a staff user keeps one, the work one
            if sub == "value":
                self.changes.email = _text(value, "emails.value", USER_NAME_MAX, nullable=False)
            elif sub is None:
                self.changes.email = _address_of(value)
        elif sub == "value":
            self.changes.email = _text(value, "emails.value", USER_NAME_MAX, nullable=False)
        elif sub is None:
            self.changes.email = _address_of(value)

    def remove(self, index, attribute, sub):
        changes = self.changes
        if attribute in ("username", "emails", "active"):
            raise ScimError(400, MSG_SCIM_CANNOT_REMOVE.format(index=index, attribute=attribute), MUTABILITY)
        if attribute == "externalid":
            changes.external_id = ""
        elif attribute == "displayname":
            changes.display_name = ""
        elif attribute == "name" and sub is None:
            _name_parts(changes, {}, replace_all=True)
        elif attribute == "name" and sub in _NAME_PARTS:
            _name_parts(changes, {sub: None}, replace_all=False)


def user_from_patch(body, *, current_email):
    """The changes of a PATCH body's operations, applied in order (a later one wins)."""
    if not isinstance(body, dict):
        raise ScimError(400, MSG_SCIM_BODY_NOT_OBJECT, INVALID_SYNTAX)
    operations = _lowered(body).get("operations")
    if not isinstance(operations, list) or not 1 <= len(operations) <= MAX_OPERATIONS:
        raise ScimError(400, MSG_SCIM_NO_OPERATIONS, INVALID_SYNTAX)
    patch = _Patch(current_email)
    for index, operation in enumerate(operations):
        operation = _lowered(operation) if isinstance(operation, dict) else {}
        op = operation.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise ScimError(400, MSG_SCIM_OPERATION_SHAPE.format(index=index), INVALID_SYNTAX)
        path = operation.get("path")
        patch.apply(index, op.lower(), None if path in (None, "") else path, operation.get("value"))
    return patch.changes


# Answers ----------------------------------------------------------------------------------


def _time(moment: dt.datetime):
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def user_resource(user, *, base_url):
    """A staff user as a SCIM User (`base_url`: this host's …/scim/v2)."""
    name = {"formatted": user.full_name}
    if user.scim_given_name:
        name["givenName"] = user.scim_given_name
    if user.scim_family_name:
        name["familyName"] = user.scim_family_name
    resource = {
        "schemas": [USER_SCHEMA],
        "id": str(user.pk),
        "userName": user.email,
        "name": name,
        "displayName": user.full_name,
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": user.is_active,
        "meta": {"resourceType": "User", "created": _time(user.date_joined), "location": user_location(user, base_url)},
    }
    if user.scim_external_id:
        resource["externalId"] = user.scim_external_id
    return resource


def user_location(user, base_url):
    return f"{base_url}/Users/{user.pk}"


def list_response(resources, *, total, start_index):
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


# Discovery (RFC 7644 §4) ------------------------------------------------------------------


def service_provider_config(*, base_url):
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token of this tenant, issued by its admins (POST /v1/scim-tokens), "
                "sent as Authorization: Bearer <token>.",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }


def user_resource_type(*, base_url):
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A staff member of the console. Roles are not provisioned: they come from the identity "
        "provider's groups claim at each sign-in.",
        "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
    }


def _attribute(name, description, *, type="string", required=False, case_exact=False, mutability="readWrite",
               uniqueness="none", multi_valued=False, sub_attributes=None):
    attribute = {
        "name": name,
        "type": type,
        "multiValued": multi_valued,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    }
    if sub_attributes:
        attribute["subAttributes"] = sub_attributes
    return attribute


def user_schema(*, base_url):
    """The User schema as far as a staff user holds it (RFC 7643 §4.1, §7)."""
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A staff member of the console.",
        "attributes": [
            _attribute("userName", "The staff member's email address, with which they sign in; unique.",
                       required=True, uniqueness="server"),
            _attribute("name", "The staff member's name.", type="complex", sub_attributes=[
                _attribute("formatted", "The full name the console shows."),
                _attribute("familyName", "The family name."),
                _attribute("givenName", "The given name."),
            ]),
            _attribute("displayName", "The full name the console shows (name.formatted)."),
            _attribute("emails", "The one address, the same as userName.", type="complex", multi_valued=True,
                       sub_attributes=[
                           _attribute("value", "The address."),
                           _attribute("type", "Always work."),
                           _attribute("primary", "Always true.", type="boolean"),
                       ]),
            _attribute("active", "false ends the staff member's console sessions and revokes their API tokens "
                       "at once.", type="boolean"),
        ],
        "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{USER_SCHEMA}"},
    }

