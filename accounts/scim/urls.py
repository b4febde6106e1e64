from django.urls import re_path

from accounts.scim import apis, endpoints
from config.ids import ID_SEGMENT, id_in_path

api = [
    re_path(r"^scim-tokens/?$", apis.ScimTokenListApi.as_view(), name="scim-tokens"),
    re_path(rf"^scim-tokens/{id_in_path('scim_token_id')}/?$", apis.ScimTokenDetailApi.as_view(), name="scim-token"),
]

# Under /scim/v2/. SCIM names its resources in capitals; an address none of these routes take
# is SCIM's 404 (the last route matches exactly those, so the order of the routes does not matter).
_KNOWN = rf"(?:ServiceProviderConfig|ResourceTypes(?:/{ID_SEGMENT})?|Schemas(?:/{ID_SEGMENT})?|Users(?:/{ID_SEGMENT})?)/?$"
scim = [
    re_path(r"^ServiceProviderConfig/?$", endpoints.ServiceProviderConfigEndpoint.as_view(), name="scim-config"),
    re_path(r"^ResourceTypes/?$", endpoints.ResourceTypesEndpoint.as_view(), name="scim-resource-types"),
    re_path(rf"^ResourceTypes/{id_in_path('resource_type')}/?$", endpoints.ResourceTypesEndpoint.as_view(),
            name="scim-resource-type"),
    re_path(r"^Schemas/?$", endpoints.SchemasEndpoint.as_view(), name="scim-schemas"),
    re_path(rf"^Schemas/{id_in_path('schema_id')}/?$", endpoints.SchemasEndpoint.as_view(), name="scim-schema"),
    re_path(r"^Users/?$", endpoints.UsersEndpoint.as_view(), name="scim-users"),
    re_path(rf"^Users/{id_in_path('user_id')}/?$", endpoints.UserEndpoint.as_view(), name="scim-user"),
    re_path(rf"^(?!{_KNOWN})", endpoints.NotFoundEndpoint.as_view(), name="scim-not-found"),
]
