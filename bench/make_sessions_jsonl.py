"""Write a JSON Lines file of session reports for `manage.py import_sessions`.

Students and case studies are taken from an existing tenant, so every line refers to
real rows (apart from the --bad share of deliberately broken lines).

    .venv/bin/python bench/make_sessions_jsonl.py --tenant demo --lines 100000 --out var/sessions.jsonl
    time .venv/bin/python manage.py import_sessions --tenant demo var/sessions.jsonl

Session ids are derived from --seed and the line number, so the same command writes the
same file: importing it twice measures the "nothing changed" path.
"""
import argparse
import datetime as dt
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SENTENCES = [
    "I would start by sizing the market in Lagos and Abuja.",
    "What is the price elasticity of demand for fuel here?",
    "Let's compare the subsidy cost with the expected tax revenue.",
    "The second-order effect on transport prices matters most.",
    "Can you summarise the stakeholders and their incentives?",
    "I'd recommend a phased removal with targeted cash transfers.",
    "Good. What risks do you see in the implementation?",
    "Currency depreciation would offset part of the saving.",
]
CRITERIA = ["Problem framing", "Quantification", "Recommendation", "Communication"]


def iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def session_line(rng, n, seed, student_id, case_study_id, messages, now):
    started = now - dt.timedelta(days=rng.uniform(0, 180), minutes=rng.uniform(0, 60))
    status = rng.choices(["ended", "in_progress", "abandoned"], weights=[85, 5, 10])[0]
    duration = dt.timedelta(minutes=rng.uniform(4, 55))
    ended = started + duration if status != "in_progress" else None
    graded = status == "ended" and rng.random() < 0.9
    transcript_status = rng.choices(["available", "partial", "processing", "missing", "failed"], weights=[80, 8, 5, 4, 3])[0]
    body = {
        "session_id": f"bench-{seed}-{n:08d}",
        "user_id": student_id,
        "case_study_id": case_study_id,
        "status": status,
        "started_at": iso(started),
        "ended_at": iso(ended) if ended else None,
        "last_activity_at": iso(ended or started + duration / 2),
        "score": round(rng.uniform(35, 100), 1) if graded else None,
        "transcript_status": transcript_status,
        "grading_status": "complete" if graded else rng.choice(["pending", "failed"]),
    }
    if messages and transcript_status in ("available", "partial"):
        step = duration / (messages + 1)
        body["transcript"] = [
            {
                "role": "assistant" if i % 2 == 0 else "student",
                "content": rng.choice(SENTENCES),
                "timestamp": iso(started + step * (i + 1)),
            }
            for i in range(messages)
        ]
    if graded:
        scores = [rng.uniform(10, 25) for _ in CRITERIA]
        body["grade"] = {
            "max_score": 100,
            "feedback": "Clear structure; quantify the second-order effects.",
            "graded_at": iso(ended + dt.timedelta(minutes=5)),
            "criteria": [
                {"name": name, "score": round(score, 1), "max_score": 25, "feedback": "See the rubric."}
                for name, score in zip(CRITERIA, scores, strict=True)
            ],
        }
    return body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", required=True, help="Slug of a tenant that has students and case studies.")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--out", default=str(ROOT / "var" / "sessions.jsonl"))
    parser.add_argument("--messages", type=int, default=6, help="Transcript messages per session (default 6).")
    parser.add_argument("--bad", type=float, default=0.001, help="Share of deliberately invalid lines (default 0.1%%).")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from catalogue.models import CaseStudy
    from students.models import Student
    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=args.tenant).exclude(schema_name="public").first()
    if tenant is None:
        sys.exit(f"No tenant with slug {args.tenant!r}.")
    connection.set_tenant(tenant)
    student_ids = list(Student.objects.filter(deleted_at__isnull=True).values_list("user_id", flat=True))
    case_study_ids = list(CaseStudy.objects.values_list("case_study_id", flat=True))
    if not student_ids or not case_study_ids:
        sys.exit(f"Tenant {args.tenant!r} needs students and case studies (try manage.py seed_demo).")

    rng = random.Random(args.seed)
    now = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    bad = 0
    with out.open("w", encoding="utf-8") as fh:
        for n in range(args.lines):
            body = session_line(rng, n, args.seed, rng.choice(student_ids), rng.choice(case_study_ids), args.messages, now)
            if rng.random() < args.bad:
                bad += 1
                body[rng.choice(["status", "score", "user_id"])] = rng.choice(["paused", 250, "no-such-student"])
            fh.write(json.dumps(body, ensure_ascii=False) + "\n")
    print(
        f"Wrote {args.lines:,} lines ({bad} deliberately invalid) to {out} "
        f"from {len(student_ids):,} students and {len(case_study_ids)} case studies."
    )


if __name__ == "__main__":
    main()
