"""A SAML 2.0 identity provider for tests, built on pysaml2's IdP `Server`, run as its own process:

    python -m testing.saml_idp --port 8124 --config idp.json

idp.json: {"entity_id", "key_file", "cert_file" (PEM), "sp_metadata": [the service providers'
metadata XML], "users": [{"email", "name", "groups": [...], "name_id_format": "email" or
"persistent", "name_id" (persistent only)}], "sign_response": true}. It serves
- GET /metadata/: its own metadata;
- GET /sso/redirect: the SingleSignOnService (HTTP-Redirect). It parses the AuthnRequest (its
  issuer must be a service provider of sp_metadata, and the AssertionConsumerServiceURL one of
  that provider's) and shows a tiny login form: one button per user;
- POST /sso/login: the chosen user's signed Response (with a signed assertion; attributes
  mail, displayName and groups), in a page whose form posts it to the ACS at once.

The functions below make the same responses in the test's own process, with a defect where a
test asks for one (`tweak` changes the message before it is signed, with real XML signatures).
"""
import argparse
import base64
import contextlib
import datetime as dt
import html
import json
import secrets
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name, md
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NameID
from saml2.samlp import response_from_string
from saml2.server import Server
from saml2.sigver import pre_signature_part, signed_instance_factory

from testing.live import serving

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
NAME_ID_FORMATS = {
    "email": NAMEID_FORMAT_EMAILADDRESS, "persistent": NAMEID_FORMAT_PERSISTENT, "transient": NAMEID_FORMAT_TRANSIENT,
}


def make_keypair(folder, common_name):
    """A new RSA key and its self-signed certificate, written to folder: (key path, cert path)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def idp_server(*, entity_id, sso_url, key_file, cert_file, sp_metadata=()):
    """pysaml2's IdP, signing with SHA-256, for the service providers of sp_metadata (XML)."""
    config = {
        "entityid": entity_id,
        "key_file": str(key_file),
        "cert_file": str(cert_file),
        "signing_algorithm": RSA_SHA256,
        "digest_algorithm": SHA256,
        "service": {
            "idp": {
                "endpoints": {"single_sign_on_service": [(sso_url, BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT],
                "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                       "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
            }
        },
    }
    if sp_metadata:
        config["metadata"] = {"inline": list(sp_metadata)}
    return Server(config=IdPConfig().load(config))


def idp_metadata(server):
    descriptor = entity_descriptor(server.config)
    descriptor.extensions = None
    return descriptor.to_string({"md": md.NAMESPACE}).decode()


def name_id_of(user):
    kind = user.get("name_id_format", "email")
    text = user["email"] if kind == "email" else user.get("name_id") or f"id-{user['email']}"
    return NameID(format=NAME_ID_FORMATS[kind], text=text)


def identity_of(user):
    return {"mail": [user["email"]], "displayName": [user["name"]], "groups": list(user.get("groups", []))}


def authn_response(
    server, *, user, in_response_to, acs_url, sp_entity_id, sign_assertion=True, sign_response=False,
    tweak=None, sign_alg=RSA_SHA256, digest_alg=SHA256,
):
    """The Response (XML) of `server` about `user` for the service provider: built by pysaml2,
    changed by tweak(response) if given, then signed as asked."""
    unsigned = server.create_authn_response(
        identity_of(user), in_response_to, acs_url, sp_entity_id, name_id=name_id_of(user),
        authn={"class_ref": PASSWORD_CONTEXT}, sign_assertion=False, sign_response=False,
    )
    response = response_from_string(str(unsigned))
    if tweak is not None:
        tweak(response)
    to_sign = []
    if sign_assertion:
        assertion = response.assertion[0]
        assertion.signature = pre_signature_part(
            assertion.id, server.sec.my_cert, 2, sign_alg=sign_alg, digest_alg=digest_alg
        )
        to_sign.append((class_name(assertion), assertion.id))
    if sign_response:
        response.signature = pre_signature_part(
            response.id, server.sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
        )
        to_sign.append((class_name(response), response.id))
    signed = signed_instance_factory(response, server.sec, to_sign)
    return signed if isinstance(signed, str) else signed.to_string().decode()


def encoded(xml):
    """A Response as the HTTP-POST binding carries it."""
    return base64.b64encode(xml.encode() if isinstance(xml, str) else xml).decode()


# The process --------------------------------------------------------------------------


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def serve(port, config):
    base = f"http://127.0.0.1:{port}"
    server = idp_server(
        entity_id=config["entity_id"], sso_url=f"{base}/sso/redirect", key_file=config["key_file"],
        cert_file=config["cert_file"], sp_metadata=config.get("sp_metadata", []),
    )
    users = config["users"]
    sign_response = config.get("sign_response", True)
    pending = {}  # form key -> the AuthnRequest being answered
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            url = urlsplit(self.path)
            if url.path == "/metadata/":
                return self._send(200, idp_metadata(server), "application/samlmetadata+xml")
            if url.path != "/sso/redirect":
                return self._send(404, "not found")
            query = parse_qs(url.query)
            try:
                request = server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
                sp_entity_id = request.issuer.text.strip()
                known = [s["location"] for s in server.metadata.assertion_consumer_service(sp_entity_id, BINDING_HTTP_POST)]
            except Exception as exc:  # noqa: BLE001 — a test IdP: say what was wrong
                return self._send(400, f"bad AuthnRequest: {type(exc).__name__}")
            acs_url = request.assertion_consumer_service_url or (known[0] if known else "")
            if acs_url not in known:
                return self._send(400, "AssertionConsumerServiceURL not in the service provider's metadata")
            key = secrets.token_urlsafe(16)
            with lock:
                pending[key] = {"id": request.id, "acs": acs_url, "sp": sp_entity_id,
                                "relay_state": query.get("RelayState", [""])[0]}
            buttons = "".join(
                f'<p><button type="submit" name="user" value="{i}">Sign in as {html.escape(u["name"])}</button> '
                f"<small>{html.escape(u['email'])}</small></p>"
                for i, u in enumerate(users)
            )
            body = (f"<p>Signing in to {html.escape(sp_entity_id)}</p>"
                    f'<form method="post" action="/sso/login"><input type="hidden" name="key" value="{key}">'
                    f"{buttons}</form>")
            return self._send(200, PAGE.format(title="Test identity provider", body=body))

        def do_POST(self):  # noqa: N802
            if urlsplit(self.path).path != "/sso/login":
                return self._send(404, "not found")
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
            with lock:
                request = pending.pop(form.get("key", [""])[0], None)
            if request is None:
                return self._send(400, "no such sign-in")
            user = users[int(form["user"][0])]
            xml = authn_response(
                server, user=user, in_response_to=request["id"], acs_url=request["acs"],
                sp_entity_id=request["sp"], sign_response=sign_response,
            )
            relay = (f'<input type="hidden" name="RelayState" value="{html.escape(request["relay_state"])}">'
                     if request["relay_state"] else "")
            body = (f'<form method="post" action="{html.escape(request["acs"])}">'
                    f'<input type="hidden" name="SAMLResponse" value="{encoded(xml)}">{relay}'
                    '<button type="submit">Continue</button></form>'
                    "<script>document.forms[0].submit();</script>")
            return self._send(200, PAGE.format(title="Signing you in", body=body))

        def _send(self, status, text, content_type="text/html; charset=utf-8"):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    print(f"listening on {port}", flush=True)
    httpd.serve_forever(poll_interval=0.1)


@contextlib.contextmanager
def running_idp(port, config):
    """This module as a process on 127.0.0.1:port with `config` (see above), until the block ends."""
    with tempfile.TemporaryDirectory(prefix="saml-idp-") as folder:
        config_path = Path(folder) / "idp.json"
        config_path.write_text(json.dumps(config))
        command = [sys.executable, "-m", "testing.saml_idp", "--port", str(port), "--config", str(config_path)]
        base = f"http://127.0.0.1:{port}"
        with serving(command, ready_url=f"{base}/metadata/", what="the SAML IdP"):
            yield base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True, help="the JSON file described above")
    args = parser.parse_args(argv)
    serve(args.port, json.loads(Path(args.config).read_text()))


if __name__ == "__main__":
    main()
