"""Sending one webhook: the Standard Webhooks signature and an HTTP client that is safe
against server-side request forgery.

The client is the standard library's http.client with its connect step replaced: the host is
resolved once, every address it resolves to is checked (private, loopback, link-local,
multicast, reserved, unspecified and other non-public ranges, IPv4 and IPv6, an IPv6 address
carrying an IPv4 one judged by that), and the socket is opened to a checked address; the Host
header and the TLS server name stay the URL's host, so certificates are verified as usual. The
check runs at every connect, on the address actually connected to, so a name that resolved to a
public address when the endpoint was registered and to 127.0.0.1 now is refused (DNS
rebinding). Redirects are never followed: a 3xx is a failure. WEBHOOKS_ALLOW_PRIVATE lifts the
address check (tests, development).

http.client rather than requests or urllib3: it is what both are built on, it lets the one
connect step be replaced without reaching into a library's private pool classes, it keeps one
connection open for a whole run of deliveries to an endpoint, and it adds no dependency.
"""
import datetime as dt
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from standardwebhooks import Webhook

USER_AGENT = "StudentOpsConsole-Webhooks/1"
EXCERPT_CHARS = 500
READ_LIMIT = 64 * 1024  # bytes of an answer read; past this the connection is closed instead

MSG_PRIVATE_ADDRESS = "{host} resolves to {address}, a private or reserved address: not delivered."
MSG_PLAIN_HTTP = "Only https addresses are delivered to."
MSG_REDIRECT = "Answered with a redirect ({status}), which is not followed."
MSG_STATUS = "Answered {status}."
MSG_TIMED_OUT = "No answer within {seconds} s."


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def forbidden_address(address):
    """True when `address` (an ipaddress object) is not a public unicast address: private,
    loopback, link-local, multicast, reserved, unspecified, shared (CGNAT) or documentation
    ranges; an IPv6 address carrying an IPv4 one (mapped, NAT64, 6to4, Teredo) is judged by it."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return forbidden_address(address.ipv4_mapped)
        if address in NAT64:
            return forbidden_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        embedded = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and forbidden_address(embedded):
            return True
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def literal_address(host):
    """The IP address `host` spells (an IPv4 address in any form the resolver reads, such as
    127.1 or 2130706433, or an IPv6 address), else None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


# What a kept-alive connection the receiver has closed meanwhile raises on its next request.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Refused(Exception):
    """The target may not be connected to (SSRF)."""


def _checked_create_connection(allow_private):
    """socket.create_connection for http.client, resolving once and connecting only to checked
    addresses."""

    def create_connection(address, timeout=None, source_address=None, **kwargs):
        host, port = address
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        if not allow_private:
            for *_, sockaddr in infos:
                ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
                if forbidden_address(ip):
                    raise Refused(MSG_PRIVATE_ADDRESS.format(host=host, address=ip))
        error = None
        for family, kind, proto, _, sockaddr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)  # the address just checked, not the name again
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error or OSError(f"{host} has no address")

    return create_connection


def checked_connection(scheme, host, port, *, timeout, allow_private):
    """An http.client connection to `host` that resolves it once at connect and connects only
    to addresses that pass forbidden_address (unless `allow_private`), raising Refused else.
    Also what the OpenID Connect sign-in fetches its provider's documents with."""
    if scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection._create_connection = _checked_create_connection(allow_private)  # type: ignore[attr-defined]
    return connection


@dataclass
class Result:
    outcome: str  # delivered, failed, refused (WebhookDelivery.Outcome)
    status_code: int | None
    latency_ms: int | None
    excerpt: str
    error: str

    @property
    def delivered(self):
        return self.outcome == "delivered"


def _excerpt(body):
    text = body.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text[: EXCERPT_CHARS * 2])
    return text[:EXCERPT_CHARS]


def body_of(payload):
    """The request body: the event's JSON, compact."""
    return orjson.dumps(payload)


def signature(secrets, *, msg_id, timestamp, body):
    """The webhook-signature header: one `v1,<base64>` per secret, space-separated."""
    return " ".join(_webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body) for secret in secrets)


_signers: dict[str, Webhook] = {}


def _webhook(secret):
    signer = _signers.get(secret)
    if signer is None:
        if len(_signers) > 1000:
            _signers.clear()
        signer = _signers[secret] = Webhook(secret)
    return signer


class Sender:
    """POSTs to one endpoint's URL over one kept-alive connection (reopened, and checked again,
    when the receiver closes it). Use as a context manager."""

    def __init__(self, url, *, timeout, allow_private):
        self.url = url
        self.timeout = timeout
        self.allow_private = allow_private
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _connection(self):
        if self.connection is None:
            self.connection = checked_connection(
                self.scheme, self.host, self.port, timeout=self.timeout, allow_private=self.allow_private
            )
        return self.connection

    def send(self, *, msg_id, body, secrets, now=None):
        """POST `body` signed with `secrets` as message `msg_id`; the Result."""
        if self.scheme != "https" and not self.allow_private:
            return Result("refused", None, None, "", MSG_PLAIN_HTTP)
        timestamp = now or dt.datetime.now(dt.timezone.utc)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature(secrets, msg_id=msg_id, timestamp=timestamp, body=body),
        }
        started = time.monotonic()
        try:
            try:
                status, answer = self._post(body, headers, started)
            except _STALE as exc:
                if not getattr(exc, "reused", False):
                    raise
                # The receiver closed the kept-alive connection while it was idle: once more, anew.
                status, answer = self._post(body, headers, started)
        except Refused as exc:
            self.close()
            return Result("refused", None, None, "", str(exc))
        except (TimeoutError, socket.timeout):
            self.close()
            return Result("failed", None, _ms(started), "", MSG_TIMED_OUT.format(seconds=self.timeout))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.close()
            return Result("failed", None, _ms(started), "", _error_text(exc))
        latency = _ms(started)
        if 200 <= status < 300:
            return Result("delivered", status, latency, _excerpt(answer), "")
        if 300 <= status < 400:
            return Result("failed", status, latency, _excerpt(answer), MSG_REDIRECT.format(status=status))
        return Result("failed", status, latency, _excerpt(answer), MSG_STATUS.format(status=status))

    def _post(self, body, headers, started):
        deadline = started + self.timeout
        reused = self.connection is not None and self.connection.sock is not None
        connection = self._connection()
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            connection.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            response = connection.getresponse()
        except _STALE as exc:
            self.close()
            exc.reused = reused  # type: ignore[union-attr]
            raise
        return response.status, self._read(response, deadline)

    def _read(self, response, deadline):
        """Up to READ_LIMIT bytes of the answer within the deadline; the connection is kept only
        when the whole answer was read and the receiver keeps it open."""
        chunks, size = [], 0
        while size < READ_LIMIT:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if self.connection is not None and self.connection.sock is not None:
                self.connection.sock.settimeout(remaining)
            chunk = response.read(min(8192, READ_LIMIT - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if not response.isclosed() or response.will_close:
            self.close()
        elif self.connection is not None and self.connection.sock is not None:
            self.connection.sock.settimeout(self.timeout)
        return b"".join(chunks)


def _ms(started):
    return int((time.monotonic() - started) * 1000)


def _error_text(exc):
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:300]
