"""The dashboard's figures and the geometry of its inline SVG charts.

All figures cover the same window: the last 12 weeks (Monday to Sunday in the tenant's time
zone, the current week included), chosen on `Session.last_activity_at`, which is indexed
(`sess_activity`), so each query is a range scan bounded by date whatever the table's size.
A session counts in the week of its last activity; sessions last minutes, so this is also
the week it was held. Four GROUP BY / aggregate queries, cached for a minute per tenant (the
cache key function adds the tenant's schema).
"""
import datetime as dt
import math

from django.core.cache import cache
from django.db.models import Avg, Count, F, Q, Value
from django.db.models.functions import Floor, Least, TruncWeek
from django.utils import timezone

from attempts.models import Session
from attempts.selectors import CONSUMING

WEEKS = 12
TOP_CASE_STUDIES = 10
CACHE_SECONDS = 60
CACHE_KEY = "console:dashboard:v1"
GRADED = Q(grading_status=Session.GradingStatus.COMPLETE, score__isnull=False)


def window_start(now, tzinfo):
    """Monday 00:00 (local) of the week WEEKS-1 weeks before the current one."""
    local = now.astimezone(tzinfo)
    monday = local.date() - dt.timedelta(days=local.weekday())
    first = monday - dt.timedelta(weeks=WEEKS - 1)
    return dt.datetime.combine(first, dt.time.min, tzinfo=tzinfo)


def dashboard_figures(*, tzinfo, now=None):
    """Figures for the dashboard, from the cache when they are under a minute old."""
    key = f"{CACHE_KEY}:{tzinfo.key if hasattr(tzinfo, 'key') else tzinfo}"
    figures = cache.get(key)
    if figures is None:
        figures = compute_figures(tzinfo=tzinfo, now=now)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def compute_figures(*, tzinfo, now=None):
    """Queries: weekly active students, window totals, attempts per case study, score buckets."""
    now = now or timezone.now()
    start = window_start(now, tzinfo)
    in_window = Session.objects.filter(last_activity_at__gte=start).order_by()

    weekly_rows = (
        in_window.annotate(week=TruncWeek("last_activity_at", tzinfo=tzinfo))
        .values("week")
        .annotate(students=Count("student_id", distinct=True))
    )
    by_week = {row["week"].astimezone(tzinfo).date(): row["students"] for row in weekly_rows}
    weeks = [start.date() + dt.timedelta(weeks=i) for i in range(WEEKS)]

    totals = in_window.aggregate(
        students=Count("student_id", distinct=True),
        sessions=Count("pk"),
        attempts=Count("pk", filter=CONSUMING),
        graded=Count("pk", filter=GRADED),
        average_score=Avg("score", filter=GRADED),
    )

    per_case_study = list(
        in_window.filter(CONSUMING)
        .values("case_study_id", title=F("case_study__title"))
        .annotate(attempts=Count("pk"))
        .order_by("-attempts", "title", "case_study_id")[:TOP_CASE_STUDIES]
    )

    # 10-point buckets 0–9 … 80–89, and 90–100 (a perfect score joins the top bucket).
    bucket_rows = (
        in_window.filter(GRADED)
        .annotate(bucket=Least(Floor(F("score") / 10), Value(9.0)))
        .values("bucket")
        .annotate(sessions=Count("pk"))
    )
    by_bucket = {int(row["bucket"]): row["sessions"] for row in bucket_rows}

    return {
        "start": start,
        "end": now,
        "weekly_active": [{"week": week, "students": by_week.get(week, 0)} for week in weeks],
        "totals": totals,
        "per_case_study": per_case_study,
        "score_buckets": [
            {"label": f"{i * 10}–{i * 10 + 9}" if i < 9 else "90–100", "sessions": by_bucket.get(i, 0)}
            for i in range(10)
        ],
    }


# Chart geometry ------------------------------------------------------------------------


def nice_step(value, ticks=4):
    """A step of 1, 2 or 5 × 10^k (never below 1: the charts count things) so that `ticks`
    steps cover value."""
    raw = max(value / ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)


def axis(value, ticks=4):
    """(top of the axis, tick values): whole-number ticks from 0 that cover value."""
    step = nice_step(value, ticks)
    top = max(step, step * math.ceil(value / step))
    return top, list(range(0, top + 1, step))


def column_chart(points, *, width=600, height=260, left=52, right=12, top=16, bottom=40):
    """points: [{"label", "value", "title"}] -> bars and gridlines in SVG user units."""
    top_value, tick_values = axis(max((p["value"] for p in points), default=0))
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(1, len(points))
    bar_w = slot * 0.62
    bars = []
    for i, point in enumerate(points):
        h = plot_h * point["value"] / top_value
        x = left + slot * i + (slot - bar_w) / 2
        bars.append(
            {
                **point,
                "x": round(x, 1),
                "y": round(top + plot_h - h, 1),
                "w": round(bar_w, 1),
                "h": round(h, 1),
                "cx": round(x + bar_w / 2, 1),
                "label_y": height - bottom + 18,
                "value_y": round(top + plot_h - h - 5, 1),
            }
        )
    grid = [
        {"value": t, "y": round(top + plot_h - plot_h * t / top_value, 1)} for t in tick_values
    ]
    return {"width": width, "height": height, "left": left, "right": width - right, "bars": bars, "grid": grid,
            "baseline": top + plot_h}


def bar_chart(rows, *, width=600, row_h=44, left=8, right=56):
    """Horizontal bars, label above each bar: rows [{"label", "value", "title"}]."""
    top_value, _ = axis(max((r["value"] for r in rows), default=0))
    plot_w = width - left - right
    bars = []
    for i, row in enumerate(rows):
        y = i * row_h
        w = plot_w * row["value"] / top_value
        bars.append(
            {
                **row,
                "label_y": y + 15,
                "x": left,
                "y": y + 22,
                "w": round(max(w, 2), 1),
                "h": 14,
                "value_x": round(left + max(w, 2) + 6, 1),
                "value_y": y + 33,
            }
        )
    return {"width": width, "height": max(row_h, row_h * len(rows)), "bars": bars}


def _truncate(text, limit=70):
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def dashboard_charts(figures):
    weekly = column_chart(
        [
            {
                "label": row["week"].strftime("%-d %b"),
                "value": row["students"],
                "title": f"Week of {row['week'].strftime('%-d %b %Y')}: {row['students']} active "
                f"student{'' if row['students'] == 1 else 's'}",
            }
            for row in figures["weekly_active"]
        ],
        width=1200,
        height=260,
    )
    case_studies = bar_chart(
        [
            {
                "label": _truncate(row["title"]),
                "value": row["attempts"],
                "title": f"{row['title']}: {row['attempts']} attempt{'' if row['attempts'] == 1 else 's'}",
            }
            for row in figures["per_case_study"]
        ]
    )
    scores = column_chart(
        [
            {
                "label": row["label"],
                "value": row["sessions"],
                "title": f"Score {row['label']}: {row['sessions']} graded session"
                f"{'' if row['sessions'] == 1 else 's'}",
            }
            for row in figures["score_buckets"]
        ]
    )
    return {"weekly": weekly, "case_studies": case_studies, "scores": scores}
