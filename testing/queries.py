"""What a request costs before its view runs, in the steady state (the host's tenant cached by
tenants.routing.selectors), for tests that pin query counts."""

# An API request: SET search_path to the tenant; the Bearer token with its user and the
# user's permissions (accounts.authentication), one query.
API_REQUEST_QUERIES = 2
