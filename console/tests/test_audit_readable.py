"""The Audit page names people and records instead of ids (issue 33, friction 4): students,
case studies, cohorts, groups and staff by name, linked to their pages, with one query per
kind of record whatever the number of rows; a grant's allowance before → after; long values
summarised; the Action filter a labelled choice, every action the code writes labelled."""
import ast
import re
from pathlib import Path

import pytest

from accounts.audit.services import audit_record
from attempts.data_rights.services import student_erase
from attempts.grants.services import attempts_grant
from console.audit.labels import ACTION_LABELS, TARGET_TYPES
from console.audit.readable import INLINE_ITEMS
from students.cohorts.services import cohort_delete
from students.groups.services import student_group_members_add
from students.records.services import student_delete, student_update
from testing.factories import (
    HOSTILE_NAME,
    CaseStudyFactory,
    CohortFactory,
    ProgrammeFactory,
    StudentClusterFactory,
    StudentFactory,
    StudentGroupFactory,
)

ROOT = Path(__file__).resolve().parents[2]
ACTION_RE = re.compile(r"^[a-z_]+\.[a-z_]+$")


@pytest.fixture
def mba():
    return ProgrammeFactory(code="MBA", name="Business Administration")


@pytest.fixture
def admin(console_as, admin_user):
    return console_as(admin_user)


def _page(client, **query):
    response = client.get("/audit/", query)
    return response, response.content.decode()


def test_a_student_change_names_the_student_and_both_cohorts_with_links(admin, mba):
    spring, autumn = CohortFactory(name="Spring 2026"), CohortFactory(name="Autumn 2026")
    student = StudentFactory(first_name="Zoë", last_name="Brontë", programmes=[mba], cohort=spring)
    student_update(user_id=student.pk, cohort_id=autumn.pk)
    response, html = _page(admin)
    assert response.status_code == 200
    assert f'<a href="/students/{student.pk}/">Zoë Brontë</a>' in html
    assert (f'<strong>Cohort</strong>: <a href="/students/?cohort={spring.pk}">Spring 2026</a> → '
            f'<a href="/students/?cohort={autumn.pk}">Autumn 2026</a>') in html
    assert spring.pk not in html.replace(f"cohort={spring.pk}", "")  # the id only in the link


def test_a_grant_shows_the_allowance_before_and_after_and_the_case_study_by_title(admin, admin_user, mba):
    fuel = CaseStudyFactory(title="Fuel pricing in Lagos", programmes=[mba], max_attempts=3)
    student = StudentFactory(first_name="Chidinma", last_name="Okafọr", programmes=[mba])
    attempts_grant(user_id=student.pk, case_study_id=fuel.pk, attempts=1, reason="Outage on 4 June", actor=admin_user)
    _, html = _page(admin, action="attempts.grant")
    assert "Extra attempts granted" in html
    assert "<strong>Extra attempts</strong>: 0 → 1" in html
    assert "<strong>Attempts allowed</strong>: 3 → 4" in html
    assert f'<strong>Case study</strong>: <a href="/case-studies/{fuel.pk}/">Fuel pricing in Lagos</a>' in html
    assert "<strong>Reason</strong>: Outage on 4 June" in html
    assert "Delta" not in html and "case_study_id" not in html and "grant_id" not in html.lower()


def test_a_gradebook_of_many_case_studies_reads_as_their_count_with_the_names_behind_a_disclosure(admin, mba):
    titles = [f"Case {n:02}" for n in range(INLINE_ITEMS + 42)]
    studies = [CaseStudyFactory(title=t, programmes=[mba]) for t in titles]
    audit_record(action="reports.gradebook", target_type="student_list", target_id="gradebook",
                 detail={"format": "csv", "case_studies": [c.pk for c in studies], "filters": {"programme": ["MBA"]}})
    _, html = _page(admin)
    assert "Gradebook downloaded" in html and "Gradebook file" in html
    assert '<details class="audit-more"><summary>45 case studies</summary>' in html
    assert f'<li><a href="/case-studies/{studies[0].pk}/">Case 00</a></li>' in html
    assert "<strong>Filter: programme</strong>: MBA" in html


def test_long_text_is_cut_with_the_whole_behind_a_disclosure(admin, mba):
    student = StudentFactory(programmes=[mba])
    reason = "The runtime lost the session halfway; " * 6
    audit_record(action="auth.sign_in_refused", target_type="student", target_id=student.pk, detail={"reason": reason})
    _, html = _page(admin)
    assert f"<p>{reason}</p></details>" in html
    assert "<summary>The runtime lost the session halfway; The runtime lost the session halfway; The…</summary>" in html


def test_group_members_events_name_the_group_and_the_students(admin, mba):
    group = StudentGroupFactory(name="Evening associates", cluster=StudentClusterFactory(name="MBA"))
    ada, obi = StudentFactory(first_name="Ada", last_name="Eze", programmes=[mba]), StudentFactory(programmes=[mba])
    student_group_members_add(group_id=group.pk, user_ids=[ada.pk, obi.pk])
    _, html = _page(admin)
    assert f'<a href="/groups/{group.pk}/">Evening associates</a>' in html
    assert f'<strong>Students</strong>: <a href="/students/{ada.pk}/">Ada Eze</a>, ' in html
    assert f'<strong>Group</strong>: <a href="/groups/{group.pk}/">Evening associates</a>' in html


def test_deleted_records_read_by_a_fallback_and_an_erased_student_by_their_pseudonym(admin, mba):
    gone = StudentFactory(first_name="Kwame", last_name="Mensah", programmes=[mba])
    erased = StudentFactory(first_name="Ngozi", last_name="Eze", programmes=[mba])
    cohort = CohortFactory(name="Winter 2025")
    student_delete(user_id=gone.pk)
    student_erase(user_id=erased.pk, reason="The student asked (ticket 4411).")
    cohort_delete(cohort_id=cohort.pk)
    audit_record(action="student.update", target_type="student", target_id="6b13aa00000000000000fb1",
                 before={"cohort": "6b13aa0000000000000000c1"}, after={"cohort": None})
    _, html = _page(admin)
    assert "Kwame Mensah (deleted)" in html and f'href="/students/{gone.pk}/"' not in html
    assert "deleted student (id 6b13aa00000000000000fb1)" in html
    assert "deleted cohort (id 6b13aa0000000000000000c1) → <span class=\"faint\">—</span>" in html
    assert "Winter 2025 (deleted cohort)" in html
    pseudonym = f'<a href="/students/{erased.pk}/">Erased student '
    assert pseudonym in html and "Ngozi" not in html


def _events(n, *, mba, cohorts, fuel, group):
    for _ in range(n):
        student = StudentFactory(programmes=[mba], cohort=cohorts[0])
        audit_record(action="student.update", target_type="student", target_id=student.pk,
                     before={"cohort": cohorts[0].pk}, after={"cohort": cohorts[1].pk})
        audit_record(action="attempts.grant", target_type="student", target_id=student.pk,
                     before={"extra_attempts": 0}, after={"extra_attempts": 1},
                     detail={"case_study_id": fuel.pk, "delta": 1, "reason": "Outage", "grant_id": "g1"})
        audit_record(action="student_group.members_add", target_type="student", target_id=student.pk,
                     detail={"group_id": group.pk, "group_name": group.name})


def test_the_pages_queries_do_not_grow_with_its_rows(admin, mba, django_assert_num_queries):
    cohorts = [CohortFactory(), CohortFactory()]
    fuel = CaseStudyFactory(programmes=[mba])
    group = StudentGroupFactory()
    admin.get("/audit/")  # the first request reads the admins' notice, cached for the next
    # The session, the user with their roles (one statement); the count, the page of events; then
    # one query per kind of record the events name: students, groups, case studies, cohorts.
    _events(1, mba=mba, cohorts=cohorts, fuel=fuel, group=group)
    with django_assert_num_queries(8):
        assert admin.get("/audit/").content.decode().count('class="audit-action"') == 3
    _events(15, mba=mba, cohorts=cohorts, fuel=fuel, group=group)
    with django_assert_num_queries(8):
        html = admin.get("/audit/").content.decode()
    assert html.count('class="audit-action"') == 48 and html.count('title="attempts.grant">Extra attempts granted<') == 16


def test_the_action_filter_is_a_labelled_choice_grouped_by_family(admin):
    _, html = _page(admin, action="attempts.grant")
    assert '<select id="a-action" name="action"' in html
    assert '<optgroup label="Attempts">' in html
    assert '<option value="attempts.grant" selected>Extra attempts granted</option>' in html
    assert '<option value="reports.gradebook">Gradebook downloaded</option>' in html


def test_an_unlisted_action_from_the_address_is_kept_and_a_malformed_one_refused(admin, mba):
    student = StudentFactory(programmes=[mba])
    audit_record(action="student.update", target_type="student", target_id=student.pk)
    response, html = _page(admin, action="student")
    assert response.status_code == 200
    assert '<option value="student" selected>Every “student” action</option>' in html
    assert 'class="audit-action"' in html
    response, html = _page(admin, action="student.renamed")  # written by an older release, say
    assert response.status_code == 200
    assert '<option value="student.renamed" selected>“student.renamed” (not a listed action)</option>' in html
    response, html = _page(admin, action="DROP TABLE")
    assert response.status_code == 400
    assert 'id="a-action-err">An action such as student.update, or a family such as student.</span>' in html
    assert 'class="audit-action"' not in html


def test_a_background_export_names_its_kind_and_its_filters_records(admin, mba):
    cohort = CohortFactory(name="Spring 2026")
    audit_record(action="exports.queue", target_type="export_job", target_id="6b13aa00000000000000e001",
                 detail={"kind": "gradebook", "format": "xlsx", "filters": {"cohort": [cohort.pk], "status": ["active"]}})
    _, html = _page(admin)
    assert "Background export started" in html and "deleted background export (id 6b13aa00000000000000e001)" in html
    assert "<strong>File</strong>: Gradebook" in html
    assert f'<strong>Filter: cohort</strong>: <a href="/students/?cohort={cohort.pk}">Spring 2026</a>' in html
    assert "<strong>Filter: status</strong>: active" in html


def test_names_are_escaped_and_an_unlisted_record_type_is_kept_in_its_choice(admin, mba):
    student = StudentFactory(first_name="<script>alert(1)</script>", last_name=HOSTILE_NAME, programmes=[mba])
    audit_record(action="student.update", target_type="student", target_id=student.pk,
                 before={"first_name": "Ada"}, after={"first_name": "<b>Ada</b>"})
    _, html = _page(admin)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Ada</b>" not in html and "&lt;b&gt;Ada&lt;/b&gt;" in html
    response, html = _page(admin, target_type="legacy_thing")
    assert response.status_code == 200
    assert '<option value="legacy_thing" selected>“legacy_thing” (not a listed record)</option>' in html


def test_the_json_api_still_gives_the_raw_names_and_ids(admin_client, mba):
    student = StudentFactory(programmes=[mba])
    cohort = CohortFactory()
    audit_record(action="student.update", target_type="student", target_id=student.pk,
                 before={"cohort": None}, after={"cohort": cohort.pk})
    row = admin_client.get("/v1/audit-events").json()["data"][0]
    assert (row["action"], row["target_id"], row["changes"]) == ("student.update", student.pk, {"cohort": [None, cohort.pk]})


# Every action the code writes has a label ------------------------------------------------------

AUDIT_HELPERS = re.compile(r"audit|^lifecycle$")  # audit_record*, _audit, _audit_avatar, … and tenant_suspend's


def _called_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _constants(node):
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def written_actions():
    """{action: where} of every action an audit write names: an `action=` or `audit_action=`
    argument, a positional argument of an audit helper (`_audit("student.update", …)`), or
    what a function named for audit actions returns (`_audit_action`)."""
    found = {}
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or {"tests", "migrations"} & set(relative.parts) or relative.parts[0] in {
            "bench", "testing", "var"
        }:
            continue
        tree = ast.parse(path.read_text(), filename=str(relative))
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.Call):
                values += [v for k in node.keywords if k.arg in ("action", "audit_action") for v in _constants(k.value)]
                if AUDIT_HELPERS.search(_called_name(node)):
                    values += [v for arg in node.args for v in _constants(arg)]
            elif isinstance(node, ast.FunctionDef) and node.name.endswith("audit_action"):
                values += [v for ret in ast.walk(node) if isinstance(ret, ast.Return) for v in _constants(ret)]
            for value in values:
                if ACTION_RE.match(value):
                    found.setdefault(value, f"{relative}:{node.lineno}")
    return found


def test_every_action_the_code_writes_has_a_label():
    written = written_actions()
    # The finder finds the writes of every kind (a keyword, a helper, a returned name).
    assert {"attempts.grant", "attempts.revoke", "student.avatar_set", "tenant.suspend", "reports.gradebook",
            "student_group.members_add", "two_factor.enrol", "cohort.update"} <= set(written)
    unlabelled = {action: where for action, where in written.items() if action not in ACTION_LABELS}
    assert unlabelled == {}


def test_labels_are_actions_and_distinct():
    assert all(ACTION_RE.match(action) for action in ACTION_LABELS)
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS)
    assert all(re.match(r"^[a-z_]+$", t) for t in TARGET_TYPES)
