"""Students: programmes, cohorts, student records, clusters and groups.

Owns the student list's maintained columns (`last_seen`, `programme_label`) and the
selector that the console's JSON list, HTML list and export all share.
"""
