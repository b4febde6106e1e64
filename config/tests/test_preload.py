"""The production server's master loads, before it forks its workers, what a worker would
otherwise load on its first request (config.serve.preload): checked in a fresh interpreter,
as the master starts."""
import json
import subprocess
import sys

from testing.live import BASE_DIR, app_env

PROBE = """
import json, sys
import django
django.setup()
before = "console.auth.saml" in sys.modules or "saml2" in sys.modules
from django.conf import settings
from django.urls import get_resolver
from config.serve import preload
preload()
print(json.dumps({
    "before": before,
    "modules": [name for name in ("config.urls", "config.urls_public", "console.auth.saml", "saml2") if name in sys.modules],
    "populated": [get_resolver(urlconf)._populated for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF)],
}))
"""


def test_the_master_loads_every_urlconf_with_its_views_and_reverse_lookups_before_the_fork():
    # No database is touched: the address points nowhere.
    env = app_env(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["before"] is False  # django.setup() alone does not load them: preload does
    assert loaded["modules"] == ["config.urls", "config.urls_public", "console.auth.saml", "saml2"]
    assert loaded["populated"] == [True, True]
