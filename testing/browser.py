"""Real headless Chromium for browser tests: our own WSGI server thread on 127.0.0.1 with the
real middleware stack (tenant by host) and static files from the finders, one Chromium per
module (Debian's /usr/bin/chromium driven by Playwright), and a page that may reach nothing
but that server. Loaded as a pytest plugin by the root conftest.py.
"""
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(settings.BASE_DIR) / "screenshots"
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium not installed: apt-get install -y chromium (make browsers)"
)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ConnectionClosingHandler(WSGIHandler):
    """Each request thread closes its own database connection when done. Requests in flight
    are counted, so a test can wait for them before its data is truncated."""

    def __init__(self):
        super().__init__()
        self.in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.in_flight += 1
        try:
            return super().__call__(environ, start_response)
        finally:
            connections.close_all()
            with self.lock:
                self.in_flight -= 1

    def wait_idle(self, timeout=5):
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)


@dataclass
class Server:
    url: str
    app: _ConnectionClosingHandler


@pytest.fixture(scope="module")
def server():
    httpd = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    httpd.daemon_threads = True
    app = _ConnectionClosingHandler()
    # Static files straight from the finders (static/console/…), as runserver does; whitenoise
    # only serves collected files when DEBUG is off.
    httpd.set_app(StaticFilesHandler(app))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(url=f"http://test.localhost:{httpd.server_address[1]}", app=app)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls (factories) are still plain synchronous code, so Django's guard is lifted here only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, server, committed_tenant):
    assert connections["default"].settings_dict["NAME"].startswith("test_"), "refusing to commit to a non-test database"
    context = browser.new_context(
        base_url=server.url, viewport={"width": 1366, "height": 860}, accept_downloads=True, locale="en-GB"
    )
    context.set_default_timeout(8000)
    page = context.new_page()
    # No network beyond our own server: every asset is served by the app itself.
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    # Nothing a page does may need what the Content-Security-Policy forbids.
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    server.app.wait_idle()  # before committed_tenant truncates the tables
    assert all(url.startswith(server.url) or url.startswith(("data:", "blob:")) for url in requests), requests
    assert violations == []




AXE = Path(settings.BASE_DIR) / "var" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.impact} ${v.id}: ` + v.nodes.slice(0, 4).map(n => n.target.join(" ")).join(" | "));
}"""


def axe_violations(page):
    """axe-core's serious and critical violations on the page as it is now, one line each.
    axe-core comes from the npm registry (`make test` installs it where Chromium is); where it
    could not be installed, the test is skipped with the reason npm gave."""
    if not AXE.exists():
        log = AXE.parents[3] / "npm-axe.log"
        reason = log.read_text().strip().splitlines()[-1:] if log.exists() else ["never installed"]
        pytest.skip(f"axe-core is not installed at {AXE} ({reason[0] if reason else 'npm failed'}): run `make browsers`")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # through DevTools: the page's CSP does not apply
    return page.evaluate(_AXE_RUN)


def sideways_overflow(page):
    """How many CSS pixels the page scrolls sideways (0: none). A data table's own scroller
    (.table-wrap) may scroll inside the page; the page itself may not."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
