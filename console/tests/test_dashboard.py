"""The dashboard: three charts over the last 12 weeks, from four GROUP BY queries, cached a
minute per tenant, drawn as inline SVG with the numbers also in hidden tables."""
import datetime as dt
import re

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from console.dashboard.selectors import WEEKS, compute_figures, window_start
from testing.clients import TenantAPIClient
from testing.factories import CaseStudyFactory, SessionFactory, StudentFactory

# A Wednesday. In Lagos (UTC+1) the current week starts Monday 1 June 2026 00:00 local.
NOW = dt.datetime(2026, 6, 3, 12, 0, tzinfo=dt.timezone.utc)


def _session(student, case_study, when, **kwargs):
    return SessionFactory(student=student, case_study=case_study, started_at=when - dt.timedelta(minutes=9),
                          ended_at=when, last_activity_at=when, **kwargs)


def test_window_is_twelve_whole_weeks_in_the_tenants_time_zone(tenant):
    start = window_start(NOW, tenant.tzinfo)
    assert start.isoformat() == "2026-03-16T00:00:00+01:00"
    assert (dt.date(2026, 6, 1) - start.date()).days == 7 * (WEEKS - 1)


def test_active_students_are_distinct_per_local_week_of_last_activity(tenant):
    case_study = CaseStudyFactory()
    ada, bisi = StudentFactory(), StudentFactory()
    _session(ada, case_study, NOW - dt.timedelta(hours=1))
    _session(ada, case_study, NOW - dt.timedelta(hours=2))  # same student, same week: once
    # Sunday 31 May 23:30 UTC is Monday 1 June 00:30 in Lagos: this week.
    _session(bisi, case_study, dt.datetime(2026, 5, 31, 23, 30, tzinfo=dt.timezone.utc))
    _session(bisi, case_study, NOW - dt.timedelta(weeks=1))
    _session(bisi, case_study, NOW - dt.timedelta(weeks=13))  # outside the window
    figures = compute_figures(tzinfo=tenant.tzinfo, now=NOW)
    weekly = figures["weekly_active"]
    assert len(weekly) == WEEKS
    assert weekly[-1] == {"week": dt.date(2026, 6, 1), "students": 2}
    assert weekly[-2] == {"week": dt.date(2026, 5, 25), "students": 1}
    assert sum(w["students"] for w in weekly[:-2]) == 0
    assert figures["totals"]["students"] == 2
    assert figures["totals"]["sessions"] == 4


def test_attempts_per_case_study_are_the_top_ten_counting_attempts_that_consume(tenant):
    student = StudentFactory()
    case_studies = [CaseStudyFactory(title=f"Case {i:02d}") for i in range(12)]
    for i, case_study in enumerate(case_studies):
        for _ in range(i + 1):
            _session(student, case_study, NOW - dt.timedelta(days=1))
    # A missing transcript does not use an attempt.
    for _ in range(20):
        _session(student, case_studies[0], NOW - dt.timedelta(days=1), transcript_status="missing")
    rows = compute_figures(tzinfo=tenant.tzinfo, now=NOW)["per_case_study"]
    assert [(r["title"], r["attempts"]) for r in rows] == [(f"Case {i:02d}", i + 1) for i in range(11, 1, -1)]


def test_scores_fall_in_ten_point_bands_with_a_perfect_score_in_the_top_band(tenant):
    student, case_study = StudentFactory(), CaseStudyFactory()
    for score in (0, 9.9, 10, 55, 90, 100):
        _session(student, case_study, NOW - dt.timedelta(days=2), score=score, grading_status="complete")
    _session(student, case_study, NOW - dt.timedelta(days=2), score=None, grading_status="pending")
    figures = compute_figures(tzinfo=tenant.tzinfo, now=NOW)
    assert [b["sessions"] for b in figures["score_buckets"]] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert figures["score_buckets"][9]["label"] == "90–100"
    assert figures["totals"]["graded"] == 6


def test_page_draws_three_svg_charts_with_titles_and_hidden_number_tables(console_as, viewer_user):
    student, case_study = StudentFactory(), CaseStudyFactory(title="Fuel Subsidy removal in Nigeria")
    _session(student, case_study, timezone.now() - dt.timedelta(hours=1), score=72, grading_status="complete")
    response = console_as(viewer_user).get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="chart') == 3
    assert html.count('role="img"') == 3
    assert "<title>Fuel Subsidy removal in Nigeria: 1 attempt</title>" in html
    assert "<title>Score 70–79: 1 graded session</title>" in html
    assert re.search(r"<title>Week of \d+ \w+ \d{4}: 1 active student</title>", html)
    assert html.count('<div class="visually-hidden"><table>') == 3
    assert "<script" not in html.split("</head>")[1]  # the charts need no JavaScript


def test_dashboard_runs_four_queries_then_serves_from_the_cache(console_as, viewer_user, django_assert_num_queries):
    for _ in range(5):
        _session(StudentFactory(), CaseStudyFactory(), timezone.now() - dt.timedelta(days=3), score=60,
                 grading_status="complete")
    client = console_as(viewer_user)
    client.get("/students/")
    # Session, staff user with roles (one statement); weekly active students, window
    # totals, attempts per case study, score bands.
    with django_assert_num_queries(6):
        client.get("/dashboard/")
    # The same two, then the figures from the cache.
    with django_assert_num_queries(2):
        response = client.get("/dashboard/")
    assert response.context["data"]["totals"]["sessions"] == 5


def test_cached_figures_are_never_shown_to_another_tenant(console_as, viewer_user, other_tenant, other_tenant_user,
                                                          other_host, tenant):
    _session(StudentFactory(), CaseStudyFactory(), timezone.now() - dt.timedelta(days=1))
    assert console_as(viewer_user).get("/dashboard/").context["data"]["totals"]["sessions"] == 1
    with schema_context(other_tenant.schema_name):
        theirs = TenantAPIClient(other_host)
        theirs.force_login(other_tenant_user)
    response = theirs.get("/dashboard/")
    connection.set_tenant(tenant)
    assert response.status_code == 200
    assert response.context["data"]["totals"]["sessions"] == 0


def test_dashboard_needs_the_view_permission(console_as, ingest_user):
    assert console_as(ingest_user).get("/dashboard/").status_code == 403
