"""Facts about the HTTP request that several layers need the same way."""
from django.conf import settings


def declared_length(request):
    """The body's length as the request declares it (Content-Length), before reading the body;
    0 when absent or not a number (the body is then refused by its own checks as it is read)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def client_address(request):
    """The client's IP address: the connection's, unless TRUSTED_PROXY_COUNT proxies append to
    X-Forwarded-For, when it is the address the outermost trusted proxy saw (the Nth from the
    right). A client cannot choose its own address by sending the header. Same rule as DRF's
    throttles (NUM_PROXIES is set from the same setting)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
    if not addresses:
        return remote
    return addresses[-min(proxies, len(addresses))]
