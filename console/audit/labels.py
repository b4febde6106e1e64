"""What the Audit page calls the trail's actions, records and fields, declared once.

Every action a service writes (`audit_record(action=…)`) has a label here:
console/tests/test_audit_readable.py finds the actions in the code and fails on one without
a label. The JSON API (`GET /v1/audit-events`) keeps the raw names."""

# (family label, {action: label}) in the order the Action filter offers them.
ACTION_GROUPS = (
    ("Students", {
        "student.create": "Student created",
        "student.update": "Student changed",
        "student.archive": "Student archived",
        "student.unarchive": "Student unarchived",
        "student.delete": "Student deleted",
        "student.avatar_set": "Photo uploaded",
        "student.avatar_clear": "Photo removed",
        "student.data_export": "Student’s data downloaded",
        "student.erase": "Student’s data erased",
    }),
    ("Attempts", {
        "attempts.grant": "Extra attempts granted",
        "attempts.revoke": "Extra attempts revoked",
        "attempt.transcript_read": "Transcript read",
    }),
    ("Exports", {
        "students.export": "Student list downloaded",
        "reports.gradebook": "Gradebook downloaded",
        "exports.queue": "Background export started",
        "exports.download": "Background export downloaded",
    }),
    ("Groups and cohorts", {
        "student_group.create": "Group created",
        "student_group.update": "Group changed",
        "student_group.delete": "Group deleted",
        "student_group.members_add": "Added to a group",
        "student_group.members_remove": "Removed from a group",
        "student_cluster.create": "Cluster created",
        "student_cluster.update": "Cluster changed",
        "student_cluster.delete": "Cluster deleted",
        "cohort.create": "Cohort created",
        "cohort.update": "Cohort renamed",
        "cohort.delete": "Cohort deleted",
    }),
    ("Catalogue", {
        "programme.create": "Programme created",
        "programme.update": "Programme changed",
        "case_study.create": "Case study created",
        "case_study.update": "Case study changed",
    }),
    ("Staff and sign-in", {
        "staff.create": "Staff user created",
        "staff.update": "Staff user changed",
        "staff.role_change": "Staff roles changed",
        "staff.deactivate": "Staff user deactivated",
        "auth.sign_in": "Signed in",
        "auth.sign_in_refused": "Single sign-on refused",
        "two_factor.enrol": "Two-factor sign-in set up",
        "two_factor.disable": "Two-factor sign-in turned off",
        "two_factor.reset": "Two-factor sign-in reset",
        "two_factor.recovery_codes": "Recovery codes renewed",
        "two_factor.recovery_code_used": "Recovery code used",
        "identity_provider.create": "Identity provider added",
        "identity_provider.update": "Identity provider changed",
        "identity_provider.delete": "Identity provider removed",
        "sign_in_policy.update": "Sign-in policy changed",
        "scim_token.create": "SCIM token issued",
        "scim_token.revoke": "SCIM token revoked",
    }),
    ("Webhooks", {
        "webhook.create": "Webhook endpoint added",
        "webhook.update": "Webhook endpoint changed",
        "webhook.delete": "Webhook endpoint removed",
        "webhook.disable": "Webhook endpoint disabled",
        "webhook.rotate_secret": "Webhook secret rotated",
        "webhook.replay": "Webhook events sent again",
    }),
    ("University", {
        "tenant.suspend": "University suspended",
        "tenant.resume": "University resumed",
        "tenant.delete": "University scheduled for deletion",
        "tenant.backup": "University backed up",
        "tenant.restore": "University restored",
    }),
)
ACTION_LABELS = {action: label for _, actions in ACTION_GROUPS for action, label in actions.items()}

# The records an event may be about, as the Record filter offers them.
TARGET_TYPES = {
    "student": "Student", "case_study": "Case study", "programme": "Programme", "student_group": "Group",
    "student_cluster": "Cluster", "session": "Attempt", "cohort": "Cohort", "staff_user": "Staff user",
    "student_list": "Student list (downloads)", "export_job": "Background export", "webhook": "Webhook endpoint",
    "identity_provider": "Identity provider", "scim_token": "SCIM token", "sign_in_policy": "Sign-in policy",
    "tenant": "University",
}

# Fields whose name alone reads badly; the others read as their name ("first_name": "First name").
FIELD_LABELS = {
    "extra_attempts": "Extra attempts", "attempts_allowed": "Attempts allowed", "case_study_id": "Case study",
    "student_id": "Student", "group_id": "Group", "user_ids": "Students", "case_studies": "Case studies",
    "cluster": "Cluster", "advisor": "Advisor", "avatar": "Photo", "max_attempts": "Attempts allowed",
    "is_active": "Active", "programmes": "Programmes", "legal_hold": "Legal hold", "rows": "Rows",
    "file_size": "File size (bytes)", "enrollment_status": "Enrolment status", "delta": "Attempts changed by",
    "kind": "File",
}


def action_label(action):
    return ACTION_LABELS.get(action, action)


def field_label(name):
    return FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()
