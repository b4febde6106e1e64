"""A webhook receiver for tests and benchmarks, run as its own process:

    python testing/webhook_receiver.py --port 8123 --secret whsec_… --out received.jsonl

Every POST is verified with `standardwebhooks.Webhook(secret).verify(body, headers)` (any of
several --secret); a verified one is appended to --out as one JSON line (the webhook-id, the
event, the signatures' count and the time it arrived, time.time()) and answered 204, one that
fails verification is appended with "bad": the reason, and answered 400. HTTP/1.1 with
keep-alive, as a real receiver would be. --status answers every request with that status
instead (after recording it), --delay waits that many seconds before answering.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def serve(port, secrets, out, *, status=None, delay=0.0):
    lock = threading.Lock()
    sink = open(out, "a", buffering=1)  # noqa: SIM115 — open for the server's lifetime
    verifiers = [Webhook(secret) for secret in secrets]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            record = {"webhook_id": headers.get("webhook-id"), "received_at": arrived, "path": self.path,
                      "host": headers.get("host"), "signatures": len(headers.get("webhook-signature", "").split())}
            try:
                payload = None
                for verifier in verifiers:
                    try:
                        payload = verifier.verify(body, headers)
                        break
                    except Exception as exc:  # noqa: BLE001 — try the next secret
                        error = exc
                if payload is None:
                    raise error
                record["event"] = payload
                answer = status or 204
            except Exception as exc:  # noqa: BLE001
                record["bad"] = f"{type(exc).__name__}: {exc}"
                answer = 400
            with lock:
                sink.write(json.dumps(record) + "\n")
            if delay:
                time.sleep(delay)
            self.send_response(answer)
            if 300 <= answer < 400:
                self.send_header("Location", "/redirected")
            self.send_header("Content-Length", "2" if answer != 204 else "0")
            self.end_headers()
            if answer != 204:
                self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"listening on {port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        sink.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", action="append", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--status", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    serve(args.port, args.secret, args.out, status=args.status, delay=args.delay)


if __name__ == "__main__":
    sys.exit(main())
