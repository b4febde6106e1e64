"""The SCIM 2.0 service provider at /scim/v2/ on each tenant's host (RFC 7644): discovery
(ServiceProviderConfig, ResourceTypes, Schemas) and Users. Plain Django views, not DRF: SCIM
has its own media type, its own errors and its own authentication, and none of the API's.

Every request needs `Authorization: Bearer <SCIM token>`, a token of the host's tenant
(accounts.scim.selectors: looked up by its hash in the tenant's schema, so another tenant's
token is unknown here); no session, no CSRF. Every answer is application/scim+json; every
refusal SCIM's error, a 400 never a 500.
"""
import json
import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import IntegrityError
from django.db.models import Q
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from accounts.scim import selectors, services
from accounts.scim.filters import parse_filter, user_filter_q
from accounts.scim.protocol import INVALID_SYNTAX, INVALID_VALUE, USER_SCHEMA, ScimError, scim_response
from accounts.scim.resources import (
    MAX_RESULTS,
    list_response,
    service_provider_config,
    user_from_body,
    user_location,
    user_resource,
    user_resource_type,
    user_schema,
)
from config.errors import database_unavailable, write_collision
from config.parsers import MAX_JSON_DEPTH, json_depth

logger = logging.getLogger("console.scim")

SCIM_PREFIX = "/scim/v2"
RETRY_AFTER_SECONDS = "5"
DEFAULT_COUNT = 100

MSG_SCIM_NO_TOKEN = "Send Authorization: Bearer <SCIM token>, a SCIM token issued by this tenant's admins."
MSG_SCIM_BAD_TOKEN = "This SCIM token is not valid on this tenant, or it was revoked."
MSG_SCIM_NOT_FOUND = "Nothing is served at this SCIM address; this service provider has Users only."
MSG_SCIM_METHOD = "{method} is not supported on this SCIM resource."
MSG_SCIM_INVALID_JSON = "The body is not valid JSON (UTF-8)."
MSG_SCIM_JSON_TOO_DEEP = f"The body may nest at most {MAX_JSON_DEPTH} levels of arrays and objects."
MSG_SCIM_BODY_TOO_LARGE = "The body is too large."
MSG_SCIM_PAGING = "{name} must be a whole number."
MSG_SCIM_UNAVAILABLE = "The database is not reachable right now; try again in a few seconds."
MSG_SCIM_COLLISION = "Another change to this user was made at the same moment, so this one was not made; try again."
MSG_SCIM_SERVER_ERROR = "Something went wrong on our side; the error has been logged."
MSG_SCIM_RESOURCE_TYPE_NOT_FOUND = "No such resource type here; there is User."
MSG_SCIM_SCHEMA_NOT_FOUND = "No such schema here; there is " + USER_SCHEMA + "."


def base_url(request):
    """This host's SCIM root, for locations."""
    return request.build_absolute_uri(SCIM_PREFIX)


def _authenticate(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ScimError(401, MSG_SCIM_NO_TOKEN, headers={"WWW-Authenticate": 'Bearer realm="SCIM"'})
    token = selectors.scim_token_for_key(raw.strip())
    if token is None:
        raise ScimError(401, MSG_SCIM_BAD_TOKEN, headers={"WWW-Authenticate": 'Bearer realm="SCIM", error="invalid_token"'})
    services.scim_token_touch(token=token)
    return token


def _body(request):
    try:
        raw = request.body
    except (RequestDataTooBig, TooManyFieldsSent):
        raise ScimError(413, MSG_SCIM_BODY_TOO_LARGE) from None
    try:
        body = json.loads(raw.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, MSG_SCIM_INVALID_JSON, INVALID_SYNTAX) from None
    except RecursionError:
        raise ScimError(400, MSG_SCIM_JSON_TOO_DEEP, INVALID_SYNTAX) from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ScimError(400, MSG_SCIM_JSON_TOO_DEEP, INVALID_SYNTAX)
    return body


def _whole_number(request, name, default):
    value = request.GET.get(name, "").strip()
    if not value:
        return default
    if not (value.lstrip("-").isascii() and value.lstrip("-").isdigit() and len(value) <= 12):
        raise ScimError(400, MSG_SCIM_PAGING.format(name=name), INVALID_VALUE)
    return int(value)


@method_decorator(csrf_exempt, name="dispatch")
class ScimEndpoint(View):
    """Authenticates, then answers in SCIM's media type whatever happens."""

    def dispatch(self, request, *args, **kwargs):
        try:
            request.scim_token = _authenticate(request)  # the audit trail's actor (via "scim")
            return super().dispatch(request, *args, **kwargs)
        except ScimError as error:
            return error.response()
        except IntegrityError:
            logger.warning("SCIM %s %s refused by a constraint", request.method, request.path)
            return ScimError(409, MSG_SCIM_COLLISION).response()
        except Exception as exc:
            if write_collision(exc):
                return ScimError(409, MSG_SCIM_COLLISION).response()
            if database_unavailable(exc):
                logger.warning("Database unavailable for SCIM %s %s: %s", request.method, request.path,
                               type(exc).__name__)
                return ScimError(503, MSG_SCIM_UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS}).response()
            logger.exception("Unhandled error on SCIM %s %s", request.method, request.path)
            response = ScimError(500, MSG_SCIM_SERVER_ERROR).response()
            response._has_been_logged = True  # with its traceback, just above
            return response

    def http_method_not_allowed(self, request, *args, **kwargs):
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        return ScimError(405, MSG_SCIM_METHOD.format(method=request.method), headers={"Allow": allowed}).response()


class ServiceProviderConfigEndpoint(ScimEndpoint):
    http_method_names = ["get"]

    def get(self, request):
        return scim_response(service_provider_config(base_url=base_url(request)))


class ResourceTypesEndpoint(ScimEndpoint):
    http_method_names = ["get"]

    def get(self, request, resource_type=None):
        document = user_resource_type(base_url=base_url(request))
        if resource_type is None:
            return scim_response(list_response([document], total=1, start_index=1))
        if resource_type != "User":
            raise ScimError(404, MSG_SCIM_RESOURCE_TYPE_NOT_FOUND)
        return scim_response(document)


class SchemasEndpoint(ScimEndpoint):
    http_method_names = ["get"]

    def get(self, request, schema_id=None):
        document = user_schema(base_url=base_url(request))
        if schema_id is None:
            return scim_response(list_response([document], total=1, start_index=1))
        if schema_id != USER_SCHEMA:
            raise ScimError(404, MSG_SCIM_SCHEMA_NOT_FOUND)
        return scim_response(document)


class UsersEndpoint(ScimEndpoint):
    http_method_names = ["get", "post"]

    def get(self, request):
        """A page of users (`startIndex` 1-based, `count` at most MAX_RESULTS), matching `filter`."""
        text = request.GET.get("filter", "").strip()
        condition = user_filter_q(parse_filter(text)) if text else None
        start_index = max(_whole_number(request, "startIndex", 1), 1)  # RFC 7644 §3.4.2.4: below 1 is 1
        count = min(max(_whole_number(request, "count", DEFAULT_COUNT), 0), MAX_RESULTS)
        total, users = selectors.scim_user_page(
            condition=condition if condition is not None else Q(), start_index=start_index, count=count
        )
        root = base_url(request)
        return scim_response(list_response([user_resource(u, base_url=root) for u in users], total=total,
                                           start_index=start_index))

    def post(self, request):
        changes = user_from_body(_body(request))
        user, _ = services.scim_user_create(changes=changes, token=request.scim_token)
        root = base_url(request)
        return scim_response(user_resource(user, base_url=root), status=201, location=user_location(user, root))


class UserEndpoint(ScimEndpoint):
    http_method_names = ["get", "put", "patch", "delete"]

    def _answer(self, request, user):
        root = base_url(request)
        return scim_response(user_resource(user, base_url=root), location=user_location(user, root))

    def get(self, request, user_id):
        return self._answer(request, selectors.access_scim_user(user_id=user_id))

    def put(self, request, user_id):
        changes = user_from_body(_body(request))
        return self._answer(request, services.scim_user_update(user_id=user_id, changes=changes, token=request.scim_token))

    def patch(self, request, user_id):
        body = _body(request)
        return self._answer(request, services.scim_user_update(user_id=user_id, patch_body=body, token=request.scim_token))

    def delete(self, request, user_id):
        services.scim_user_delete(user_id=user_id, token=request.scim_token)
        return scim_response(None, status=204)


class NotFoundEndpoint(ScimEndpoint):
    """Any other address under /scim/v2/ (Groups, Bulk, Me …): a SCIM 404 to an authenticated client."""

    def _not_found(self, request, *args, **kwargs):
        raise ScimError(404, MSG_SCIM_NOT_FOUND)

    get = post = put = patch = delete = _not_found
