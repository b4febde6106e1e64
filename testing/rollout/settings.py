"""The project's settings with the rehearsal's migration installed (testing.rollout)."""
import os

if os.environ.get("ROLLOUT_BASE_SETTINGS") == "config.test_settings":
    from config.test_settings import *  # noqa: F401,F403
else:
    from config.settings import *  # noqa: F401,F403

TENANT_APPS = [*TENANT_APPS, "testing.rollout"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "testing.rollout"]  # noqa: F405
