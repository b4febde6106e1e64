"""Events out: a transactional outbox of what changed in a tenant and the change feed that
reads it (`GET /v1/events`).

Every change of interest (a student created, updated, archived …, extra attempts granted, a
session completed, a final score changed, an import applied, group members added …) writes
an event in the same transaction as the change (`services`), so an event exists exactly when
its change does. Each event gets its `position`, the feed's cursor, when its transaction
commits, in commit order (migration 0006's trigger), so a reader following positions sees
every event once. `types` is the one list of event types and the shape of each one's data.
"""
