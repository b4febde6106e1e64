"""SAML 2.0 sign-in (Web Browser SSO profile) through a tenant's identity provider, with pysaml2.

Each tenant host and provider is its own service provider: entity id
`<scheme>://<host>/sso/<slug>/saml/metadata/` (where its metadata is served), assertion
consumer service `<scheme>://<host>/sso/<slug>/saml/acs/` (HTTP-POST). pysaml2's configuration
is built for each request from the provider's row (the IdP's metadata is written in memory from
its entity id, single sign-on address and certificate), so nothing is configured globally and
tenants never share a service provider.

`start` sends an AuthnRequest by HTTP-Redirect and keeps its id in the session; `acs` accepts
only a response that pysaml2 and then this module's own checks find to be:
- an answer to a request this browser's session started, for this provider, in the last
  REQUEST_SECONDS (InResponseTo; unsolicited responses are refused; each id answers once);
- one assertion, signed (its own XML signature, SHA-256 or stronger) by a key of the
  provider's certificate, issued by the provider's entity id;
- for us: our entity id in every AudienceRestriction (one at least), our ACS address as the
  Response's Destination when it names one and as every bearer confirmation's Recipient;
- within its NotBefore/NotOnOrAfter, give or take SSO_CLOCK_SKEW_SECONDS;
- never seen before: its id is recorded (token_use_once) until it expires, so a replay fails;
- about a subject with an emailAddress or persistent NameID.
Then console.auth.sso.finish_sign_in provisions, logs in and audits. Every failure is the
refusal page ("invalid", audited with a short reason): never a 500, never the message itself
in a log line (pysaml2's own logger, which writes whole messages when a check fails, is quiet).

The cross-site POST and the session. The IdP's page posts the response to the ACS from the
IdP's site, and the session cookie is SameSite=Lax (Django's default): a cross-site POST does
not carry it, so the ACS would see no session, hence no outstanding request and no `next`.
The options weighed:
- a SameSite=None cookie for the session or for the request id: browsers require Secure with
  it, so it fails on plain http (development, tests), and it makes the session ride on every
  cross-site request, which Lax exists to prevent;
- the request id in RelayState, backed by a server-side table or a signed value: the answer is
  then bound to whoever holds the RelayState, not to this browser, so an attacker can start a
  sign-in with their own account and get a victim's browser to post the result (login CSRF).
Instead, a POST that arrives without a session that started a request for this provider is
answered with a small page whose form posts the same SAMLResponse (and RelayState) back to the
same address, from our own origin: a same-site POST, so the browser now sends the session
cookie. Its script submits it at once (a button does without JavaScript). The second POST
carries CONTINUED_FIELD, so there is at most one extra round trip; if it still finds no
matching request, the response is refused as unsolicited. The session stays Lax and is the one
place the request id and `next` live, and the answer is accepted only in the browser that asked.
"""
import base64
import calendar
import datetime as dt
import logging
import re
import shutil
import time
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.response import UnsolicitedResponse
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, SCM_BEARER
from saml2.sigver import MissingKey, SignatureError, SigverError
from saml2.time_util import str_to_time
from saml2.validate import ResponseLifetimeExceed, ToEarly

from accounts.identity.models import IdentityProvider
from accounts.identity.provisioning import SsoRefused, refuse, token_use_once
from console.auth.sso import finish_sign_in, refused_page

logger = logging.getLogger("console.signin")

XMLSEC_BINARY = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
REQUESTS_KEY = "saml_requests"  # in the session: [{"id", "provider", "at"}], newest last
REQUEST_SECONDS = 15 * 60  # how long an AuthnRequest may wait for its answer (a slow MFA)
REQUESTS_KEPT = 5  # sign-ins started in several tabs
CONTINUED_FIELD = "continued"
UNSOLICITED = "unsolicited response: no sign-in started in this session awaits it"
NAME_ID_FORMATS = (NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT)
# SHA-1 and MD5 signatures or digests are refused.
WEAK_ALGORITHM = re.compile(r"(sha1|md5)$", re.IGNORECASE)
PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)


class Invalid(Exception):
    """A response this module refuses; the argument is the short reason audited."""


# Views ----------------------------------------------------------------------------------


def start(request, provider):
    """The AuthnRequest, by HTTP-Redirect to the provider's single sign-on address; its id is
    kept in the session. (console.auth.sso keeps `next` there; RelayState is not used.)"""
    if not (provider.idp_entity_id and provider.idp_sso_url and _certificates(provider)):
        refuse(provider, "disabled", detail="SAML provider not fully configured")
    try:
        client = Saml2Client(config=_config(request, provider))
        request_id, info = client.prepare_for_authenticate(
            entityid=provider.idp_entity_id, binding=BINDING_HTTP_REDIRECT
        )
        location = dict(info["headers"])["Location"]
    except Exception as exc:  # noqa: BLE001 — a provider's settings pysaml2 cannot use
        logger.warning("SAML request through %s not made: %s", provider.slug, type(exc).__name__)
        refuse(provider, "disabled", detail=f"AuthnRequest not made: {type(exc).__name__}")
    _remember_request(request, provider, request_id)
    return HttpResponseRedirect(location)


@require_GET
def metadata(request, slug):
    """This host's service provider metadata for the provider (public: the IdP's admins read it)."""
    provider = _saml_provider(slug)
    if provider is None:
        raise Http404
    # Without the IdP's part, and without xmlsec1: pysaml2 would run it to list every algorithm
    # it knows (MD5 included) in the metadata.
    descriptor = entity_descriptor(_config(request, provider, with_idp=False))
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + descriptor.to_string({"md": md.NAMESPACE}).decode()
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


@csrf_exempt  # the identity provider's page posts here; what is accepted is the signed response
@require_POST
def acs(request, slug):
    """The assertion consumer service (HTTP-POST): check the response, then sign in."""
    provider = _saml_provider(slug)
    if provider is None:
        return refused_page(request, SsoRefused("disabled"), status=404)
    encoded = request.POST.get("SAMLResponse", "")
    if encoded and not _outstanding(request, provider) and request.POST.get(CONTINUED_FIELD) != "1":
        return _continue_page(request, encoded)
    try:
        subject, claims = _accept(request, provider, encoded)
    except SsoRefused as refused:
        return refused_page(request, refused)
    return finish_sign_in(request, provider, subject=subject, claims=claims)


def _continue_page(request, encoded):
    """The same response posted again from this host, so that the session cookie comes along
    (see the module's docstring). Nothing is written to the session here."""
    return render(
        request, "console/auth/saml_continue.html",
        {"saml_response": encoded, "relay_state": request.POST.get("RelayState", ""),
         "continued_field": CONTINUED_FIELD},
    )


# Checking a response --------------------------------------------------------------------


def _accept(request, provider, encoded):
    """(subject, claims) of a valid response; else SsoRefused (audited)."""
    try:
        response, assertion = _verified(request, provider, encoded)
        if not token_use_once("saml_assertion", assertion.id, expires_at=_use_until(assertion)):
            raise Invalid("assertion replayed")
    except Invalid as invalid:
        logger.warning("SAML response through %s refused: %s", provider.slug, invalid)
        refuse(provider, "invalid", detail=str(invalid))
    _forget_request(request, response.in_response_to)
    return assertion.subject.name_id.text.strip(), _claims(response, assertion, provider)


def _verified(request, provider, encoded):
    """(pysaml2's response, its one assertion) once every check has passed; else Invalid."""
    if not encoded:
        raise Invalid("no SAMLResponse")
    outstanding = _outstanding(request, provider)
    if not outstanding:  # refused before any XML is read or signature checked
        raise Invalid(UNSOLICITED)
    entity_id, acs_url = _sp_addresses(request, provider)
    client = Saml2Client(config=_config(request, provider))
    try:
        response = client.parse_authn_request_response(encoded, BINDING_HTTP_POST, outstanding=outstanding)
    except Exception as exc:  # noqa: BLE001 — pysaml2 raises many kinds
        raise Invalid(_pysaml2_reason(exc)) from exc
    try:
        return response, _checked_assertion(response, provider, entity_id=entity_id, acs_url=acs_url)
    except (AttributeError, TypeError, ValueError) as exc:  # a shape pysaml2 let through
        raise Invalid(f"response not valid ({type(exc).__name__})") from exc


def _pysaml2_reason(exc):
    if isinstance(exc, UnsolicitedResponse):
        return UNSOLICITED
    if isinstance(exc, ResponseLifetimeExceed):
        return "assertion expired"
    if isinstance(exc, ToEarly):
        return "assertion not yet valid"
    if isinstance(exc, (SignatureError, SigverError, MissingKey)):
        if "missing" in str(exc).lower()[:200]:
            return "assertion not signed"
        return "signature not valid for the provider's certificate"
    message = str(exc)[:200]
    if "AudienceRestrictions" in message:
        return "wrong audience"
    if "Combination of session id" in message or "Came from" in message:
        return UNSOLICITED
    if "Condition not OK" in message:
        return "conditions not valid"
    if "Unsuccessful operation" in message:
        return "the identity provider answered with an error status"
    return f"response not valid ({type(exc).__name__})"


def _checked_assertion(response, provider, *, entity_id, acs_url):
    """The one assertion of a response pysaml2 has parsed, once our own checks pass: pysaml2
    leaves some of these to the caller (it checks a Recipient only when told how, accepts an
    assertion without audience restriction, and hands back a response whose Destination did
    not match with its assertion unread)."""
    if response is None or response.response is None:
        raise Invalid("response not valid")
    message = response.response
    if message.destination and message.destination != acs_url:
        raise Invalid("wrong destination")
    if len(message.assertion) != 1 or message.encrypted_assertion or response.assertion is None:
        raise Invalid("not exactly one plain assertion")
    assertion = response.assertion
    if assertion.signature is None:
        raise Invalid("assertion not signed")
    signed_info = assertion.signature.signed_info
    algorithms = [signed_info.signature_method.algorithm] + [r.digest_method.algorithm for r in signed_info.reference]
    if any(WEAK_ALGORITHM.search(algorithm or "") for algorithm in algorithms):
        raise Invalid("weak signature algorithm")
    if assertion.issuer is None or (assertion.issuer.text or "").strip() != provider.idp_entity_id:
        raise Invalid("wrong issuer")
    if message.issuer is not None and (message.issuer.text or "").strip() != provider.idp_entity_id:
        raise Invalid("wrong issuer")
    restrictions = assertion.conditions.audience_restriction if assertion.conditions else []
    if not restrictions or any(
        entity_id not in [(a.text or "").strip() for a in restriction.audience] for restriction in restrictions
    ):
        raise Invalid("wrong audience")
    confirmations = [c for c in assertion.subject.subject_confirmation if c.method == SCM_BEARER]
    if not confirmations:
        raise Invalid("no bearer subject confirmation")
    if any(
        c.subject_confirmation_data is None or c.subject_confirmation_data.recipient != acs_url
        for c in confirmations
    ):
        raise Invalid("wrong recipient")
    if any(not c.subject_confirmation_data.not_on_or_after for c in confirmations):
        raise Invalid("bearer confirmation without NotOnOrAfter")
    name_id = assertion.subject.name_id
    if name_id is None or not (name_id.text or "").strip():
        raise Invalid("no NameID")
    if name_id.format not in NAME_ID_FORMATS:
        raise Invalid("NameID format neither emailAddress nor persistent")
    return assertion


def _use_until(assertion):
    """Until when the assertion could still be accepted: its id is kept as used that long."""
    times = [
        c.subject_confirmation_data.not_on_or_after for c in assertion.subject.subject_confirmation
        if c.subject_confirmation_data is not None
    ]
    if assertion.conditions is not None and assertion.conditions.not_on_or_after:
        times.append(assertion.conditions.not_on_or_after)
    latest = max(calendar.timegm(str_to_time(t)) for t in times if t)
    return dt.datetime.fromtimestamp(latest + settings.SSO_CLOCK_SKEW_SECONDS + 1, tz=dt.timezone.utc)


def _claims(response, assertion, provider):
    """The assertion's attributes by name (pysaml2's friendly name, the attribute's Name and its
    FriendlyName alike), each a list; the email and name claims their first value."""
    claims = {name: list(values) for name, values in (response.ava or {}).items()}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            values = [v.text for v in attribute.attribute_value if v.text is not None]
            for name in (attribute.name, attribute.friendly_name):
                if name:
                    claims.setdefault(name, values)
    name_id = assertion.subject.name_id
    if name_id.format == NAMEID_FORMAT_EMAILADDRESS:
        claims.setdefault(provider.email_claim, [name_id.text.strip()])
    for single in (provider.email_claim, provider.name_claim):
        if isinstance(claims.get(single), list):
            claims[single] = next(iter(claims[single]), "")
    return claims


# The requests this session started -----------------------------------------------------


def _remember_request(request, provider, request_id):
    now = int(time.time())
    kept = [r for r in request.session.get(REQUESTS_KEY, []) if now - r["at"] < REQUEST_SECONDS]
    kept = kept[-(REQUESTS_KEPT - 1):] + [{"id": request_id, "provider": provider.pk, "at": now}]
    request.session[REQUESTS_KEY] = kept


def _outstanding(request, provider):
    """{request id: provider slug} of this provider's requests still awaiting their answer."""
    now = int(time.time())
    return {
        r["id"]: provider.slug for r in request.session.get(REQUESTS_KEY, [])
        if r["provider"] == provider.pk and now - r["at"] < REQUEST_SECONDS
    }


def _forget_request(request, request_id):
    """A request is answered once."""
    kept = [r for r in request.session.get(REQUESTS_KEY, []) if r["id"] != request_id]
    request.session[REQUESTS_KEY] = kept


# pysaml2's configuration, from the provider's row ---------------------------------------


def _saml_provider(slug):
    return IdentityProvider.objects.filter(slug=slug, enabled=True, kind=IdentityProvider.SAML).first()


def _sp_addresses(request, provider):
    """(entity id, ACS address) of this host's service provider for the provider. https when
    the request is, or when cookies are marked Secure (SECURE_COOKIES: served over HTTPS behind
    a proxy that terminates it)."""
    scheme = "https" if request.is_secure() or settings.SESSION_COOKIE_SECURE else "http"
    base = f"{scheme}://{request.get_host()}"
    return (
        base + reverse("console:saml_metadata", args=[provider.slug]),
        base + reverse("console:saml_acs", args=[provider.slug]),
    )


def _config(request, provider, *, with_idp=True):
    entity_id, acs_url = _sp_addresses(request, provider)
    config = {
        "entityid": entity_id,
        "accepted_time_diff": settings.SSO_CLOCK_SKEW_SECONDS,
        "allow_unknown_attributes": True,  # a provider's attribute names are its own
        "service": {
            "sp": {
                "name": request.tenant.name,
                "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
                "want_assertions_signed": True,
                "want_response_signed": False,  # checked when present; the assertion's is required
                "allow_unsolicited": False,
                "authn_requests_signed": False,
                "name_id_format": list(NAME_ID_FORMATS),
                "name_id_format_allow_create": True,
            }
        },
    }
    if with_idp:
        config["xmlsec_binary"] = XMLSEC_BINARY
        config["metadata"] = {"inline": [_idp_metadata(provider)]}
    return SPConfig().load(config)


def _certificates(provider):
    """The base64 bodies of the PEM certificates in the provider's idp_certificate (several
    while the IdP rolls its signing key over)."""
    bodies = [re.sub(r"[^A-Za-z0-9+/=]", "", block) for block in PEM_CERTIFICATE.findall(provider.idp_certificate)]
    return [body for body in bodies if body and _is_base64(body)]


def _is_base64(text):
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return True


def _idp_metadata(provider):
    """The IdP's metadata, written from the provider's row: its entity id, signing
    certificates and HTTP-Redirect single sign-on address."""
    keys = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
        f"<ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for body in _certificates(provider)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID={quoteattr(provider.idp_entity_id)}>'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}"
        f"<md:SingleSignOnService Binding={quoteattr(BINDING_HTTP_REDIRECT)} "
        f"Location={quoteattr(provider.idp_sso_url)}/>"
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    )

