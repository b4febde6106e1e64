"""What SCIM 2.0 says on the wire that every part of accounts.scim shares: the schema URNs,
the media type, and its error (RFC 7644 §3.12), which SCIM clients read instead of the API's
envelope."""
import json

from django.http import HttpResponse

MEDIA_TYPE = "application/scim+json"

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

# scimType values (RFC 7644 §3.12, table 9).
INVALID_FILTER = "invalidFilter"
INVALID_SYNTAX = "invalidSyntax"
INVALID_PATH = "invalidPath"
NO_TARGET = "noTarget"
INVALID_VALUE = "invalidValue"
UNIQUENESS = "uniqueness"
MUTABILITY = "mutability"


class ScimError(Exception):
    """A SCIM error: the HTTP status, a sentence for people and, for a 400 or 409, its scimType."""

    def __init__(self, status, detail, scim_type=None, *, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}

    def response(self):
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        response = scim_response(body, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def scim_response(document, *, status=200, location=None):
    """`document` as application/scim+json; never stored by a cache (it names staff)."""
    response = HttpResponse(
        b"" if document is None else json.dumps(document, ensure_ascii=False).encode(),
        status=status,
        content_type=MEDIA_TYPE if document is not None else None,
    )
    if document is None:
        del response["Content-Type"]
    response["Cache-Control"] = "private, no-store"
    if location:
        response["Location"] = location
    return response
