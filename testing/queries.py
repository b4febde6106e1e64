"""What a request costs before its view runs, in the steady state (the host's tenant cached by
tenants.routing.selectors), for tests that pin query counts."""

# An API request: the Bearer token with its user and the user's permissions
# (accounts.authentication), one query. The connection is already on the tenant's search_path
# (config/postgresql: set again only when a connection changes tenants).
API_REQUEST_QUERIES = 1
