"""OpenID Connect sign-in: the authorization code flow with PKCE (RFC 7636, S256), the
provider's endpoints and keys found by discovery from its issuer URL.

Authlib makes the PKCE pair and the state and nonce; joserfc (Authlib's JOSE library) checks
the ID token's signature against the provider's published keys (asymmetric algorithms only,
never `none`) and its claims: issuer, audience (and the authorized party when there are
several), expiry and issue time within SSO_CLOCK_SKEW_SECONDS, nonce. Around it: `state` is a single-use key of this browser's session on this tenant's
host, so a callback carried to another host or replayed finds nothing; the nonce is also
recorded as used in the tenant's database, so an ID token can sign in once. The provider's
documents are fetched with the webhooks' SSRF guard (console.webhooks.delivery): https only and
public addresses only unless SSO_ALLOW_PRIVATE. The client secret goes only to the token
endpoint; it is never logged.
"""
import base64
import datetime as dt
import json
import logging
import time
from urllib.parse import quote, urlencode, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.core.cache import cache
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET
from joserfc import jwt
from joserfc.errors import InvalidClaimError, InvalidKeyIdError, JoseError, MissingKeyError
from joserfc.jwk import KeySet

from accounts.identity.provisioning import SsoRefused, refuse, token_use_once
from accounts.identity.selectors import public_base
from console.auth.sso import finish_sign_in, provider_or_404, refused_page
from console.webhooks.delivery import Refused, checked_connection

logger = logging.getLogger("console.signin")

SESSION_KEY = "oidc_pending"  # {state: {"provider", "nonce", "verifier", "at"}}
PENDING_SECONDS = 600  # a sign-in must come back from the provider within ten minutes
PENDING_MAX = 5  # sign-ins a browser may have under way at once (tabs)
DISCOVERY_SECONDS = 3600  # discovery documents and keys are cached this long
READ_LIMIT = 1024 * 1024
# Asymmetric signatures only: a symmetric one would be made with the client secret, `none` with nothing.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

MSG_PROVIDER_UNREACHABLE = "could not fetch {url}: {error}"
MSG_PROVIDER_ANSWER = "{url} answered {status}"
MSG_NOT_HTTPS = "{url} is not https"


class ProviderError(Exception):
    """A provider's endpoint could not be used (unreachable, refused, not JSON, not https)."""


def fetch_json(url, *, method="GET", body=None, headers=None):
    """The JSON document at `url` (GET, or POST with a form `body`), via the SSRF guard."""
    parts = urlsplit(url)
    allow_private = settings.SSO_ALLOW_PRIVATE
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise ProviderError(MSG_NOT_HTTPS.format(url=url))
    connection = checked_connection(
        parts.scheme, parts.hostname or "", parts.port, timeout=settings.SSO_TIMEOUT_SECONDS,
        allow_private=allow_private,
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, path, body=body, headers={"Accept": "application/json", **(headers or {})})
        response = connection.getresponse()
        data = response.read(READ_LIMIT + 1)
    except (Refused, OSError, ValueError) as exc:
        raise ProviderError(MSG_PROVIDER_UNREACHABLE.format(url=url, error=exc)) from None
    finally:
        connection.close()
    if response.status != 200 or len(data) > READ_LIMIT:
        raise ProviderError(MSG_PROVIDER_ANSWER.format(url=url, status=response.status))
    try:
        document = json.loads(data)
    except ValueError:
        raise ProviderError(MSG_PROVIDER_ANSWER.format(url=url, status="no JSON")) from None
    if not isinstance(document, dict):
        raise ProviderError(MSG_PROVIDER_ANSWER.format(url=url, status="no JSON object"))
    return document


def discovery(provider, *, fresh=False):
    """The provider's discovery document (cached), checked to name the configured issuer."""
    key = f"oidc:discovery:{provider.pk}:{provider.issuer}"
    document = None if fresh else cache.get(key)
    if document is None:
        document = fetch_json(provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if document.get("issuer", "").rstrip("/") != provider.issuer.rstrip("/"):
            raise ProviderError(f"the discovery document names the issuer {document.get('issuer')!r}")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(name), str):
                raise ProviderError(f"the discovery document has no {name}")
        cache.set(key, document, DISCOVERY_SECONDS)
    return document


def signing_keys(provider, document, *, fresh=False):
    """The provider's published keys (cached; fetched again when a token names a new key)."""
    key = f"oidc:jwks:{provider.pk}:{document['jwks_uri']}"
    keys = None if fresh else cache.get(key)
    if keys is None:
        keys = fetch_json(document["jwks_uri"])
        cache.set(key, keys, DISCOVERY_SECONDS)
    return KeySet.import_key_set(keys)


def redirect_uri(request, provider):
    """The callback address, exactly as the provider's page and API show it to register."""
    return public_base(request) + reverse("console:oidc_callback", args=[provider.slug])


def authorization_url(request, provider):
    """The provider's authorization URL for a new sign-in, its state kept in the session."""
    document = discovery(provider)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    pending = {
        k: v for k, v in request.session.get(SESSION_KEY, {}).items() if time.time() - v["at"] < PENDING_SECONDS
    }
    for stale in sorted(pending, key=lambda k: pending[k]["at"])[: max(0, len(pending) - PENDING_MAX + 1)]:
        del pending[stale]
    pending[state] = {"provider": provider.pk, "nonce": nonce, "verifier": verifier, "at": time.time()}
    request.session[SESSION_KEY] = pending
    query = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri(request, provider),
        "scope": provider.scopes or "openid",
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    endpoint = document["authorization_endpoint"]
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


def start(request, provider):
    """The redirect to the provider (console.auth.sso.sso_start)."""
    try:
        return redirect(authorization_url(request, provider))
    except ProviderError as exc:
        refuse(provider, "unreachable", detail=str(exc))


def exchange_code(provider, document, *, code, verifier, callback_url):
    """The token endpoint's answer for this code (client_secret_basic, or _post when the
    provider only takes that), with the PKCE verifier."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback_url, "code_verifier": verifier}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods or "client_secret_post" not in methods:
        pair = f"{_form_quote(provider.client_id)}:{_form_quote(provider.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form.update(client_id=provider.client_id, client_secret=provider.client_secret)
    return fetch_json(document["token_endpoint"], method="POST", body=urlencode(form), headers=headers)


def _form_quote(value):
    return quote(value, safe="")


def verify_id_token(provider, document, id_token, *, nonce, now=None):
    """The ID token's claims once its signature and claims hold (JoseError else)."""
    try:
        token = jwt.decode(id_token, signing_keys(provider, document), algorithms=ALGORITHMS)
    except (InvalidKeyIdError, MissingKeyError):
        # A key the cached set lacks: the provider may have rotated its keys.
        token = jwt.decode(id_token, signing_keys(provider, document, fresh=True), algorithms=ALGORITHMS)
    registry = jwt.JWTClaimsRegistry(
        now=int(now if now is not None else time.time()),
        leeway=settings.SSO_CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": document["issuer"]},
        aud={"essential": True, "value": provider.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    registry.validate(token.claims)
    audience = token.claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and token.claims.get("azp") != provider.client_id:
        raise InvalidClaimError("azp")
    return dict(token.claims)


def _userinfo(document, access_token, subject):
    """The userinfo endpoint's claims, when it has one and its `sub` is the ID token's."""
    endpoint = document.get("userinfo_endpoint")
    if not endpoint or not access_token:
        return {}
    info = fetch_json(endpoint, headers={"Authorization": f"Bearer {access_token}"})
    return info if info.get("sub") == subject else {}


@require_GET
def callback(request, slug):
    """Where the provider sends the browser back: check state, exchange the code, verify the
    ID token, use its nonce once, then sign in (console.auth.sso.finish_sign_in)."""
    provider = provider_or_404(slug)
    if provider is None:
        return refused_page(request, SsoRefused("disabled"), status=404)
    try:
        claims = _callback_claims(request, provider)
    except SsoRefused as refused:
        return refused_page(request, refused)
    return finish_sign_in(request, provider, subject=str(claims["sub"]), claims=claims)


def _callback_claims(request, provider):
    pending = request.session.get(SESSION_KEY, {})
    state = request.GET.get("state", "")
    expected = pending.pop(state, None) if state else None
    request.session[SESSION_KEY] = pending  # a state is used once, whatever follows
    if expected is None or expected["provider"] != provider.pk:
        refuse(provider, "invalid", detail="unknown or used state")
    if time.time() - expected["at"] > PENDING_SECONDS:
        refuse(provider, "invalid", detail="the sign-in took too long")
    if request.GET.get("error"):
        refuse(provider, "invalid", detail=f"the provider answered {request.GET['error'][:60]}")
    code = request.GET.get("code", "")
    if not code:
        refuse(provider, "invalid", detail="no code")
    try:
        document = discovery(provider)
        tokens = exchange_code(provider, document, code=code, verifier=expected["verifier"],
                               callback_url=redirect_uri(request, provider))
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            refuse(provider, "invalid", detail="no ID token")
        access_token = tokens.get("access_token") if isinstance(tokens.get("access_token"), str) else None
        claims = verify_id_token(provider, document, id_token, nonce=expected["nonce"])
        expires = dt.datetime.fromtimestamp(int(claims["exp"]) + settings.SSO_CLOCK_SKEW_SECONDS, tz=dt.timezone.utc)
        if not token_use_once("oidc_nonce", f"{provider.pk}:{claims['nonce']}", expires_at=expires):
            refuse(provider, "invalid", detail="the ID token's nonce was used before")
        missing = {provider.email_claim, provider.role_claim, provider.name_claim} - set(claims)
        if missing:
            info = _userinfo(document, access_token, claims["sub"])
            claims.update({k: v for k, v in info.items() if k in missing})
    except ProviderError as exc:
        refuse(provider, "unreachable", detail=str(exc))
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        refuse(provider, "invalid", detail=f"ID token refused: {exc}")
    return claims
