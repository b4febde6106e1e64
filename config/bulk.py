"""What every bulk action shares, whichever app's service runs it: how many students one
request may name.

It lives here, at the bottom of the layers, because the services that enforce it sit in
different apps (attempts.grants, students.records, students.groups through
students.records), the API states it as `maxItems` and the console's bulk bar (console.bulk)
offers it; each of them imports it from here rather than from one another.
"""

# Ids one bulk action takes, repeats counted (as the schema's maxItems counts them).
MAX_BULK_IDS = 500
