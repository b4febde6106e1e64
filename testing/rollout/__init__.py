"""A release's expand migration, for rehearsing a rollout (tests and bench/tenants.py).

`testing.rollout.settings` is the settings of the *next* release: the project's plus this app,
whose one migration adds a nullable column and an index built concurrently to the students
table. Running `migrate_schemas` with those settings while the app server runs with the
project's own is a deploy's first step: the new release's migrations reaching every tenant
while the old release serves them all, migrated or not.
"""
