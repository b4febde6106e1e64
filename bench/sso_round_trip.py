"""A staff sign-in through an OpenID Connect provider, end to end, beside a password sign-in on
the same server in the same run.

    .venv/bin/python bench/sso_round_trip.py [--rounds 50]

A throwaway PostgreSQL with the demo tenant, the production server (2 workers × 4 threads,
JOB_WORKERS=0) and a real provider process (`oidc-provider-mock`, testing/oidc_provider.py),
all on this machine. One OIDC round, as a browser makes it without rendering: the login
page's button (`/sso/<slug>/start/`, discovery from the cache after the first), the provider's
authorization page and its answer, then the callback (the code exchanged at the provider's
token endpoint, the ID token checked, the nonce recorded, the user linked and signed in) and
the students list it lands on. One password round: the login page, its POST and the students
list. Rounds alternate, each in a fresh session; the first round of each is left out (start-up).
Printed: p50 and p90 of each and the ratio of the p50s; the OIDC round's share spent at the
provider is printed too (its two requests, timed apart).
"""
import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.live import LiveServer, ThrowawayCluster, app_env, manage  # noqa: E402
from testing.oidc_provider import SignInClient, oidc_provider  # noqa: E402

HOST = "demo.localhost"
EMAIL = "ops@demo.localhost"
PASSWORD = "bench-sso-password"
PERSON = {"sub": "bench-0001", "email": "bench.person@uni.example", "name": "Bench Person", "groups": ["staff"]}
PROVIDER = """
from accounts.identity.models import IdentityProvider
IdentityProvider.objects.create(kind="oidc", slug="uni", name="University Login", issuer={issuer!r},
    client_id="console-bench", client_secret="bench-secret-value", role_rules=[{{"value": "staff", "role": "viewer"}}])
"""


def oidc_round(server):
    client = SignInClient(server.port, HOST)
    started = time.perf_counter()
    start = client.get("/sso/uni/start/")
    at_provider = time.perf_counter()
    form = client.idp.get(start.headers["Location"])
    answer = client.idp.post(start.headers["Location"], data={"sub": PERSON["sub"]}, allow_redirects=False)
    assert form.status_code == 200 and answer.status_code == 302, answer.text
    back = time.perf_counter()
    landed = client.get(answer.headers["Location"])
    assert landed.status_code == 302 and landed.headers["Location"] == "/students/", landed.text[:500]
    assert client.get("/students/").status_code == 200
    done = time.perf_counter()
    return done - started, back - at_provider


def password_round(server):
    client = SignInClient(server.port, HOST)
    started = time.perf_counter()
    page = client.get("/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = client.app.post(client.app_url("/login/"), data={
        "csrfmiddlewaretoken": csrf, "username": EMAIL, "password": PASSWORD},
        headers={"Referer": f"http://{client.host}/login/"}, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    assert client.get("/students/").status_code == 200
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with oidc_provider([PERSON]) as issuer:
        cluster = ThrowawayCluster()
        cluster.start()
        try:
            env = app_env(DATABASE_URL=cluster.socket_url())
            manage("prepare_demo", "--students", "200", "--email", EMAIL, "--password", PASSWORD, env=env)
            manage("tenant_command", "shell", "--schema", "demo", "-c", PROVIDER.format(issuer=issuer), env=env)
            server = LiveServer(app_env(DATABASE_URL=cluster.socket_url(), WEB_CONCURRENCY="2", WEB_THREADS="4",
                                        JOB_WORKERS="0", SSO_ALLOW_PRIVATE="1")).start()
            try:
                oidc, provider, password = [], [], []
                for index in range(args.rounds + 1):
                    total, at_provider = oidc_round(server)
                    seconds = password_round(server)
                    if index:
                        oidc.append(total)
                        provider.append(at_provider)
                        password.append(seconds)
            finally:
                server.terminate()
        finally:
            cluster.discard()

    def ms(values, q):
        return statistics.quantiles(values, n=10)[q - 1] * 1000 if q != 5 else statistics.median(values) * 1000

    print(f"rounds: {args.rounds} of each, interleaved")
    print(f"OIDC sign-in      p50 {ms(oidc, 5):6.1f} ms   p90 {ms(oidc, 9):6.1f} ms"
          f"   (at the provider: p50 {ms(provider, 5):.1f} ms)")
    print(f"password sign-in  p50 {ms(password, 5):6.1f} ms   p90 {ms(password, 9):6.1f} ms")
    print(f"OIDC / password (p50): {statistics.median(oidc) / statistics.median(password):.2f}")


if __name__ == "__main__":
    main()
