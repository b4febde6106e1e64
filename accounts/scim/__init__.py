"""SCIM 2.0 (RFC 7643, RFC 7644) for identity providers that provision and deprovision staff:
the Users resource and its discovery documents at /scim/v2/ on each tenant's host, with the
tenant's own SCIM tokens (`endpoints`, `resources`, `filters`, `services`, `selectors`), and
the admins' API for those tokens at /v1/scim-tokens (`apis`, `serializers`) and the
`scim_token` command. Groups are not served: roles come from the provider's groups claim at
each sign-in (accounts.identity.provisioning).

Written here rather than with django-scim2 (0.23.0, read for this). It would work per tenant
(its queries follow search_path) and its auth check, adapters and filter class can be
replaced, but its defaults do not fit and replacing them leaves little of it: the User adapter
assumes Django's username/first_name/last_name user; Entra ID's `"value": "False"` for active
is a 400 and an attribute path it does not map (the enterprise extension's, `title`) a 501, so
an Entra sync stops on them; a PUT blanks what the body leaves out; a JSON body that is not an
object, and any unexpected error (a database outage too), is a 500; a filter runs as raw SQL
and is then filtered and counted in Python; deactivation (sessions ended, API tokens revoked,
audited, in one transaction) would hide in an adapter's save(). With the adapter, filter
query, auth check, error handling and documents our own, only its URL routing would be left.
"""
