"""A real OpenID Connect provider process for the sign-in tests: `oidc-provider-mock` (Authlib's
server side, with discovery, a signing key published as JWKS, the authorization code flow and
nonces), started on a free port with the users given, and stopped afterwards."""
import contextlib
import json
import sys
from urllib.parse import urlsplit

import requests

from testing.live import free_port, serving


@contextlib.contextmanager
def oidc_provider(users, *, token_max_age=300):
    """The issuer URL of a provider that knows `users` ({"sub": …, other claims …})."""
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(free_port()), "--require-nonce",
               "--token-max-age", str(token_max_age)]
    for user in users:
        command += ["--user-claims", json.dumps(user)]
    issuer = f"http://127.0.0.1:{command[4]}"
    with serving(command, ready_url=f"{issuer}/.well-known/openid-configuration", what="the OIDC provider"):
        yield issuer


class SignInClient:
    """One browser's session with the app (at 127.0.0.1:`port`, by its tenant's `host`
    name) and with the provider, following a sign-in step by step."""

    def __init__(self, port, host):
        self.port = port
        self.host = f"{host}:{port}"
        self.app = requests.Session()
        self.app.headers["Host"] = self.host
        self.idp = requests.Session()

    def app_url(self, url):
        """An address of the app as the browser would use it, sent to 127.0.0.1 with the Host header."""
        parts = urlsplit(url)
        assert parts.netloc in ("", self.host), url
        return f"http://127.0.0.1:{self.port}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def get(self, url):
        return self.app.get(self.app_url(url), allow_redirects=False)

    def authorize(self, start_path, sub):
        """Start a sign-in and have the provider authorize `sub`: the callback URL it sends back."""
        start = self.get(start_path)
        assert start.status_code == 302, start.text
        authorize_url = start.headers["Location"]
        form = self.idp.get(authorize_url)
        assert form.status_code == 200, form.text
        answer = self.idp.post(authorize_url, data={"sub": sub}, allow_redirects=False)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]
