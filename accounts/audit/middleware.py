from accounts.audit.services import audit_request


class AuditRequestMiddleware:
    """Keeps the request being served where audit_record finds its actor and address. DRF
    sets the authenticated user (and token) on the underlying request, so API calls are
    attributed to their Bearer token's user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_request(request):
            return self.get_response(request)
