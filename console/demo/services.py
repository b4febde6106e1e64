"""Realistic demo data, written with COPY so 100,000 students and ~1,000,000 sessions take
minutes, not hours. Transcripts and grade reports are generated server-side with
INSERT … SELECT from the sessions just written."""
import datetime as dt
import queue
import random
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection, transaction

from attempts.standing import STANDING_DEFERRED_SQL, standing_rebuild
from config.ids import new_object_id
from students.maintained import listed_counts_recount

PROGRAMMES = [
    ("MBA1234", "Masters in Business Administration"),
    ("MSC2001", "MSc Data Science"),
    ("BSC1101", "BSc Accounting"),
    ("BSC1205", "BSc Economics"),
    ("MPH3001", "Master of Public Health"),
    ("BSC1310", "BSc Software Engineering"),
    ("MSC2210", "MSc Cybersecurity"),
    ("BSC1420", "BSc Mass Communication"),
]

TOPICS = [
    "Fuel Subsidy removal in Nigeria: Economic impact and social impact",
    "Naira redesign and the cash crunch",
    "Scaling mobile money in rural Kenya",
    "Dangote Refinery and regional supply chains",
    "Lagos–Ibadan rail: public-private partnership lessons",
    "Pricing a telecoms bundle in a price-war market",
    "Cholera outbreak response in a megacity",
    "Data breach at a fintech start-up",
    "Recommender systems for an e-commerce marketplace",
    "Audit failure at a listed bank",
    "IFRS 16 adoption at an airline",
    "Misinformation during a national election",
    "Cocoa farmers and commodity price hedging",
    "Hiring for a remote engineering team",
    "Solar mini-grids for off-grid communities",
    "Malaria vaccine roll-out logistics",
    "Ransomware at a teaching hospital",
    "Brand crisis after a viral complaint",
    "Inflation targeting under currency pressure",
    "Microservices migration at a payments company",
    "Tax policy for the informal sector",
    "Building a newsroom paywall",
    "Predicting student drop-out with open data",
    "Supplier fraud in public procurement",
    "Port congestion at Apapa: queueing and incentives",
    "Pricing insurance for smallholder farmers",
    "A bank's move to open APIs",
    "Nurse migration and hospital staffing",
    "Electricity tariff reform and public trust",
    "Ride-hailing drivers and platform pay",
    "Securing a national ID database",
    "Launching a local-language radio app",
    "Carbon credits from clean cookstoves",
    "Merger of two regional banks",
    "School feeding programme at scale",
    "A telco's tower-sharing deal",
    "Detecting fraud in mobile transfers",
    "Crisis communication after a building collapse",
    "Agritech marketplace unit economics",
    "Currency devaluation and import-dependent SMEs",
    "Phishing campaign against a university",
    "Health insurance for informal workers",
    "Cloud migration for a state government",
    "Music streaming royalties in Africa",
    "Auditing a charity's grant spending",
    "Forecasting demand for a pharmacy chain",
    "Community policing and data privacy",
    "Building a women's savings cooperative",
]

FIRST_NAMES = [
    "Abdulwahab", "Chidinma", "Ngozi", "Oluwaseun", "Adaeze", "Emeka", "Funmilayo", "Ibrahim", "Kemi",
    "Tunde", "Zainab", "Chukwuemeka", "Aïcha", "Zoë", "José", "Łukasz", "Søren", "Amara", "Yewande",
    "Ọlájídé", "Nneka", "Musa", "Halima", "Ifeoma", "Kwame", "Akosua", "Thandiwe", "Sipho", "Fatima",
    "Obinna", "Bisola", "Efe", "Tobiloba", "Hauwa", "Uchenna", "Rotimi", "Mariam", "Daniel", "Grace",
]
LAST_NAMES = [
    "Umar", "Okafọr", "Adébáyọ̀", "Nwosu", "Balogun", "Eze", "Okonkwo", "Bello", "Abubakar", "Adeyemi",
    "Ògúnlèyè", "Mensah", "Diallo", "Brontë", "García", "Wałęsa", "Kierkegård", "Obi", "Chukwu", "Lawal",
    "Ibrahim", "Adeleke", "Oyelaran", "Nnamdi", "Danjuma", "Asante", "Dlamini", "Ndlovu", "Yusuf", "Afolabi",
]

STUDENT_LINES = [
    "I'd start by mapping who pays for the subsidy today and who would carry the cost after removal.",
    "My main concern is the second-round effect on transport fares and food prices.",
    "Could we phase it over eighteen months and ring-fence part of the savings for cash transfers?",
    "I think the data suggests the informal sector is hit hardest.",
    "Let me quantify that: a 30% fare rise on a ₦20,000 monthly commute is ₦6,000.",
    "I would present three options to the board with their risks.",
]
ASSISTANT_LINES = [
    "Good. Who are the stakeholders you would consult first, and why?",
    "How would you measure whether the policy is working after six months?",
    "What evidence would change your recommendation?",
    "Walk me through the numbers behind that estimate.",
    "What is the biggest risk in your plan, and how would you mitigate it?",
    "Summarise your recommendation in two sentences for a non-specialist.",
]
CRITERIA = ["Problem framing", "Use of evidence", "Recommendation"]


def ascii_slug(text):
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _bulk_load_mode(cursor):
    """Inside a transaction: skip foreign-key triggers (the generator only writes consistent
    rows) and don't wait for WAL flushes. Needs a superuser; without one, loads just run slower."""
    cursor.execute("SET LOCAL synchronous_commit = off")
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except Exception:  # noqa: BLE001 - not a superuser: keep the checks
        pass


# The tables write_people loads without their secondary indexes.
_PEOPLE_TABLES = ("students_student", "students_enrolment", "attempts_session", "attempts_attemptgrant")


@contextmanager
def _indexes_built_after(cursor, tables):
    """Load into `tables` without their secondary indexes (those backing no constraint) and
    unique constraints (those no foreign key depends on), then build each once from the loaded
    rows: a sort per index instead of millions of insertions into it (the trigram indexes and
    the transcripts' (session, position) most of all). A unique constraint added back checks the
    loaded rows as it is built. Rebuilt even when the load fails."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (
              SELECT 1 FROM pg_constraint c
              WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass
          )
        """,
        [list(tables)],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
        WHERE c.contype = 'u' AND c.connamespace = current_schema()::regnamespace
          AND c.conrelid::regclass::text = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
        """,
        [list(tables)],
    )
    uniques = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    for table, name, _ in uniques:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    try:
        yield
    finally:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in uniques:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("RESET maintenance_work_mem")


def _on_own_connection(schema_name, load):
    """Run `load` in this thread on its own connection to the tenant's schema, closed after."""
    try:
        connection.set_schema(schema_name)
        load()
    finally:
        connection.close()


# Slices of the sessions table for the transcripts and grade reports: about 100 on any tenant
# big enough (a million students: about 100,000 sessions each), never under 64 blocks.
_SLICES = 100
_MIN_SLICE_BLOCKS = 64
_IN_SLICE = "s.ctid >= %(first)s::tid AND s.ctid < %(last)s::tid"


def _slice_params(first, last):
    return {"first": f"({first},0)", "last": f"({last},0)"}


def _copy(cursor, table, columns, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class DemoBuilder:
    """Builds a tenant's demo data. Call inside the tenant's schema."""

    def __init__(self, *, students, seed=20261123, now=None):
        self.n_students = students
        self.rng = random.Random(seed)
        self.now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.counts = {"students": 0, "sessions": 0, "grants": 0}

    # Catalogue ---------------------------------------------------------------------------

    def build_catalogue(self):
        from catalogue.models import CaseStudy, Programme
        from students.models import Cohort

        self.programmes = {
            code: Programme.objects.update_or_create(code=code, defaults={"name": name})[0] for code, name in PROGRAMMES
        }
        self.cohorts = [Cohort.objects.get_or_create(name=f"Class of {year}")[0] for year in range(2024, 2029)]
        codes = list(self.programmes)
        self.case_studies = []
        methods = ["highest"] * 6 + ["latest", "first", "average"]
        rng = self.rng
        index = 0
        for p_index, code in enumerate(codes):
            for k in range(6):
                title = TOPICS[(p_index * 6 + k) % len(TOPICS)]
                if index >= len(TOPICS):
                    title = f"{title} (part {index // len(TOPICS) + 1})"
                case_study_id = "6650c3d4e5f6a7b8c9d0e1f2" if (code == "MBA1234" and k == 0) else new_object_id()
                case_study, _ = CaseStudy.objects.update_or_create(
                    case_study_id=case_study_id,
                    defaults={
                        "title": title,
                        "max_attempts": 2 if rng.random() < 0.8 else 3,
                        "grading_method": rng.choice(methods) if k else "highest",
                        "is_active": not (k == 5 and p_index % 3 == 0),
                    },
                )
                assigned = [code]
                if k == 4:  # some case studies are shared by a neighbouring programme
                    assigned.append(codes[(p_index + 1) % len(codes)])
                case_study.programmes.set([self.programmes[c] for c in assigned])
                self.case_studies.append(case_study)
                index += 1
        self.by_programme: dict[str, list[CaseStudy]] = {code: [] for code in codes}
        for case_study in self.case_studies:
            for programme in case_study.programmes.all():
                self.by_programme[programme.code].append(case_study)

    # Students and sessions -----------------------------------------------------------------

    def _student_rows(self, start, count):
        rng, now = self.rng, self.now
        codes = list(self.programmes)
        students, enrolments, sessions, grants = [], [], [], []
        for i in range(start, start + count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            created = now - dt.timedelta(days=rng.randint(30, 720), seconds=rng.randint(0, 86_400))
            user_id = new_object_id(at=created.timestamp())
            programme_codes = [rng.choice(codes)]
            if rng.random() < 0.15:
                programme_codes.append(rng.choice([c for c in codes if c != programme_codes[0]]))
            if i == 0:  # the contract's own example student
                first, last, user_id, programme_codes = "Abdulwahab", "Umar", "6650a1b2c3d4e5f6a7b8c9d0", ["MBA1234"]
                created = dt.datetime(2025, 1, 15, 8, 0, tzinfo=dt.timezone.utc)
                email = "abdulwahabumar@miva.university"
            else:
                email = f"{ascii_slug(first)}.{ascii_slug(last)}{i}@demo.miva.university"
            programme_codes.sort()
            label = ", ".join(self.programmes[c].name for c in programme_codes)
            programme_ids = [self.programmes[c].pk for c in programme_codes]
            archived = rng.random() < 0.02 and i != 0
            withdrawn_on = graduated_on = None
            enrollment_status = "enrolled"
            if archived:
                if rng.random() < 0.5:
                    enrollment_status, withdrawn_on = "withdrawn", (now - dt.timedelta(days=rng.randint(1, 200))).date()
                else:
                    enrollment_status, graduated_on = "graduated", (now - dt.timedelta(days=rng.randint(1, 200))).date()
            status = "inactive" if rng.random() < 0.08 and i != 0 else "active"
            student_number = f"MIVA/{created.year}/{i:06d}" if rng.random() < 0.7 and i != 0 else None
            cohort_id = rng.choice(self.cohorts).pk if rng.random() < 0.8 else None

            # Sessions for this student.
            assigned = {}
            for code in programme_codes:
                for case_study in self.by_programme[code]:
                    if case_study.is_active:
                        assigned[case_study.pk] = case_study
            last_seen = None
            if i == 0:
                student_sessions = self._example_sessions(user_id)
            else:
                student_sessions = []
                pool = list(assigned.values())
                rng.shuffle(pool)
                engagement = rng.random()
                taken = 0 if engagement < 0.08 else max(1, round(len(pool) * min(1.0, 0.35 + engagement)))
                for case_study in pool[:taken]:
                    attempts = 1 if rng.random() < 0.35 else (2 if rng.random() < 0.8 else 3)
                    if attempts > case_study.max_attempts:
                        grants.append(self._grant_row(user_id, case_study.pk, attempts - case_study.max_attempts))
                    # Sessions fall between the student's creation and now (at most a year back).
                    age_days = max(1, min(365, (now - created).days))
                    started = now - dt.timedelta(days=rng.randint(0, age_days - 1), minutes=rng.randint(0, 1440))
                    for _ in range(attempts):
                        student_sessions.append(self._session_row(user_id, case_study.pk, started))
                        started += dt.timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
                        if started > now:
                            break
            for row in student_sessions:
                if last_seen is None or row[6] > last_seen:
                    last_seen = row[6]
            sessions.extend(student_sessions)
            students.append(
                (
                    user_id, first, last, email, status, enrollment_status, archived, withdrawn_on, graduated_on,
                    student_number, cohort_id, None, "", label, programme_ids, len(assigned), last_seen, created,
                    created, None,
                )
            )
            for code in programme_codes:
                enrolments.append((user_id, self.programmes[code].pk, created.date()))
        return students, enrolments, sessions, grants

    def _session_row(self, user_id, case_study_id, started):
        rng, now = self.rng, self.now
        if started > now:
            started = now - dt.timedelta(minutes=30)
        recent = (now - started) < dt.timedelta(hours=2)
        status = "in_progress" if recent and rng.random() < 0.7 else ("abandoned" if rng.random() < 0.05 else "ended")
        ended = started + dt.timedelta(minutes=rng.randint(6, 45)) if status != "in_progress" else None
        if ended and ended > now:
            ended = now
        roll = rng.random()
        transcript = (
            "available" if roll < 0.86 else "partial" if roll < 0.90 else "processing" if roll < 0.93
            else "missing" if roll < 0.97 else "failed"
        )
        if status == "in_progress":
            transcript = "processing"
        grading, score = "pending", None
        if status == "ended" and transcript in ("available", "partial"):
            if rng.random() < 0.93:
                grading, score = "complete", float(max(0, min(100, round(rng.gauss(68, 14)))))
            elif rng.random() < 0.5:
                grading = "failed"
        last_activity = ended or (started + dt.timedelta(minutes=rng.randint(0, 20)))
        if last_activity > now:
            last_activity = now
        session_id = new_object_id(at=started.timestamp())
        return (session_id, user_id, case_study_id, status, started, ended, last_activity, score, transcript, grading, now, now)

    def _example_sessions(self, user_id):
        """The two attempts of the seed's detail example (Attempt 1 missing, Attempt 2 graded 75)."""
        started = dt.datetime(2025, 4, 3, 15, 0, tzinfo=dt.timezone.utc)
        now = self.now
        return [
            ("6650d3e4f5a6b7c8d9e0f1a2", user_id, "6650c3d4e5f6a7b8c9d0e1f2", "ended", started,
             started + dt.timedelta(minutes=5), started + dt.timedelta(minutes=5), None, "missing", "pending", now, now),
            ("6650d4e5f6a7b8c9d0e1f2a3", user_id, "6650c3d4e5f6a7b8c9d0e1f2", "ended", started,
             started + dt.timedelta(minutes=9), dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.timezone.utc), 75.0,
             "available", "complete", now, now),
        ]

    def _grant_row(self, user_id, case_study_id, delta):
        self.counts["grants"] += 1
        return (new_object_id(), user_id, case_study_id, delta, "Extra attempt after a technical issue", None,
                "registry@demo.miva.university", self.now)

    def write_people(self, chunk_size=5000, progress=None):
        with connection.cursor() as cursor, _indexes_built_after(cursor, _PEOPLE_TABLES):
            for start in range(0, self.n_students, chunk_size):
                count = min(chunk_size, self.n_students - start)
                students, enrolments, sessions, grants = self._student_rows(start, count)
                with transaction.atomic():
                    _bulk_load_mode(cursor)
                    cursor.execute(STANDING_DEFERRED_SQL)
                    _copy(cursor, "students_student", [
                        "user_id", "first_name", "last_name", "email", "status", "enrollment_status", "archived",
                        "withdrawn_on", "graduated_on", "student_number", "cohort_id", "advisor_id", "avatar",
                        "programme_label", "programme_ids", "overall_case_studies", "last_seen", "created_at",
                        "updated_at", "deleted_at",
                    ], students)
                    _copy(cursor, "students_enrolment", ["student_id", "programme_id", "enrolled_on"], enrolments)
                    _copy(cursor, "attempts_session", [
                        "session_id", "student_id", "case_study_id", "status", "started_at", "ended_at",
                        "last_activity_at", "score", "transcript_status", "grading_status", "created_at", "updated_at",
                    ], sessions)
                    _copy(cursor, "attempts_attemptgrant", [
                        "id", "student_id", "case_study_id", "delta", "reason", "actor_id", "actor_email", "created_at",
                    ], grants)
                self.counts["students"] += len(students)
                self.counts["sessions"] += len(sessions)
                if progress:
                    progress(len(students))
        listed_counts_recount()  # the bulk mode skipped the triggers that keep them
        standing_rebuild()  # deferred while the sessions and the ledger were loaded

    # Server-side bulk: transcripts, grade reports, groups -------------------------------------

    def write_transcripts_and_grades(self, progress=None):
        """Every session's transcript and grade report, generated server-side slice by slice of
        the sessions table: a slice is a range of its blocks, read by a TID range scan with no
        index, and written in one transaction of its own, like write_people's chunks. Outside a
        transaction (the seed_demo command) two connections take slices from one queue, one per
        core; inside one (a test's), whose rows another connection could not see, this connection
        takes them all. `progress(done, total)` is told before the first slice and after each."""
        slices = self._session_slices()
        # (write, (first block, last block)): write(cursor, first, last) fills one slice.
        tasks: queue.SimpleQueue[tuple[Callable[..., None], tuple[int, int]]] = queue.SimpleQueue()
        for bounds in slices:
            tasks.put((self._write_transcripts, bounds))
            tasks.put((self._write_grades, bounds))
        total, done, lock, failed = 2 * len(slices), [0], threading.Lock(), threading.Event()
        if progress:
            progress(0, total)

        def drain():
            try:
                with connection.cursor() as cursor:
                    while not failed.is_set():
                        try:
                            write, bounds = tasks.get_nowait()
                        except queue.Empty:
                            return
                        with transaction.atomic():
                            _bulk_load_mode(cursor)
                            write(cursor, *bounds)
                        with lock:
                            done[0] += 1
                            if progress:
                                progress(done[0], total)
            except BaseException:
                failed.set()
                raise

        with connection.cursor() as cursor, \
                _indexes_built_after(cursor, ("attempts_transcriptmessage", "attempts_gradecriterion")):
            if connection.in_atomic_block:
                drain()
                return
            with ThreadPoolExecutor(max_workers=1) as pool:
                beside = pool.submit(_on_own_connection, connection.schema_name, drain)
                try:
                    drain()
                finally:
                    failed_beside = beside.exception()
            if failed_beside:
                raise failed_beside

    def _session_slices(self, slices=_SLICES):
        """Block ranges [first, last) covering the sessions table in about `slices` slices
        (the table does not change while they are written)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_size('attempts_session') / current_setting('block_size')::int")
            blocks = cursor.fetchone()[0]
        step = max(_MIN_SLICE_BLOCKS, -(-blocks // slices))
        return [(first, min(first + step, blocks)) for first in range(0, blocks, step)]

    def _write_transcripts(self, cursor, first, last):
        cursor.execute(
            f"""
            INSERT INTO attempts_transcriptmessage (session_id, position, role, content, timestamp)
            SELECT s.session_id, g.pos,
                   CASE WHEN g.pos = 0 THEN 'system' WHEN g.pos %% 2 = 1 THEN 'assistant' ELSE 'student' END,
                   CASE WHEN g.pos = 0 THEN 'Case briefing shared. The student has 45 minutes.'
                        WHEN g.pos %% 2 = 1 THEN (%(assistant)s::text[])[1 + abs(hashtext(s.session_id || g.pos::text)) %% %(n_assistant)s]
                        ELSE (%(student)s::text[])[1 + abs(hashtext(s.session_id || g.pos::text)) %% %(n_student)s] END,
                   s.started_at + g.pos * interval '70 seconds'
            FROM attempts_session s
            CROSS JOIN LATERAL generate_series(0, CASE WHEN s.transcript_status = 'available' THEN 4 ELSE 2 END) AS g(pos)
            WHERE s.transcript_status IN ('available', 'partial') AND {_IN_SLICE}
            """,
            {"assistant": ASSISTANT_LINES, "student": STUDENT_LINES,
             "n_assistant": len(ASSISTANT_LINES), "n_student": len(STUDENT_LINES), **_slice_params(first, last)},
        )

    def _write_grades(self, cursor, first, last):
        bounds = _slice_params(first, last)
        cursor.execute(
            f"""
            INSERT INTO attempts_gradereport (session_id, max_score, feedback, graded_at)
            SELECT s.session_id, 100,
                   CASE WHEN s.score >= 70 THEN 'Strong, well-evidenced analysis. Tighten the recommendation.'
                        WHEN s.score >= 50 THEN 'A fair attempt; use more of the case data to support claims.'
                        ELSE 'The analysis needs structure: frame the problem before proposing fixes.' END,
                   COALESCE(s.ended_at, s.last_activity_at) + interval '3 minutes'
            FROM attempts_session s WHERE s.grading_status = 'complete' AND {_IN_SLICE}
            """,
            bounds,
        )
        cursor.execute(
            f"""
            INSERT INTO attempts_gradecriterion (report_id, position, name, score, max_score, feedback)
            SELECT s.session_id, c.pos - 1, (%(criteria)s::text[])[c.pos],
                   round((s.score / 3.0)::numeric, 1)::float, 100.0 / 3,
                   CASE WHEN s.score >= 70 THEN 'Meets the bar.' ELSE 'Room to improve.' END
            FROM attempts_session s
            CROSS JOIN generate_series(1, 3) AS c(pos)
            WHERE s.grading_status = 'complete' AND {_IN_SLICE}
            """,
            {"criteria": CRITERIA, **bounds},
        )

    def write_groups(self):
        """Groups drawn from one programme each, as a class or a tutorial group would be."""
        from students.models import GroupMembership, Student, StudentCluster, StudentGroup

        clusters = [StudentCluster.objects.create(name=name) for name in ("2025/26 intake", "Executive programmes")]
        groups = [
            ("2nd year associates financial services", "BSC1101"),
            ("Senior associates financial services", "MBA1234"),
            ("Public health fellows", "MPH3001"),
            ("Data science evening cohort", "MSC2001"),
            ("MBA weekend class", "MBA1234"),
            ("Cyber bootcamp", "MSC2210"),
        ]
        taken: set[str] = set()  # user_ids already in a group
        for index, (name, code) in enumerate(groups):
            group = StudentGroup.objects.create(name=name, cluster=clusters[index % 2])
            candidates = (
                Student.objects.filter(archived=False, enrolments__programme__code=code)
                .exclude(user_id__in=taken)
                .order_by("user_id")
                .values_list("user_id", flat=True)[: 30 + index * 6]
            )
            members = list(candidates)
            taken.update(members)
            GroupMembership.objects.bulk_create([GroupMembership(group=group, student_id=m) for m in members])

    def analyze(self):
        with connection.cursor() as cursor:
            for table in ("students_student", "students_enrolment", "attempts_session", "attempts_attemptgrant",
                          "attempts_standing", "attempts_transcriptmessage", "attempts_gradereport",
                          "attempts_gradecriterion"):
                cursor.execute(f"ANALYZE {table}")
