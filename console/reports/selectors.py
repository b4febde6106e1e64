"""The gradebook's rows: one per student of the console list (its filters and order), and
for each case study the student's card under the SPEC §4 rules, from
attempts.selectors.students_case_study_cards, the same code as the student detail's cards.

Students are read from one server-side cursor; their sessions and ledger totals are read per
chunk of GRADEBOOK_CHUNK students (two queries a chunk), never per student.
"""
from dataclasses import dataclass
from itertools import islice

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef

from attempts.selectors import students_case_study_cards
from catalogue.models import CaseStudy, Programme
from config.errors import AppError
from students.listing.selectors import student_gradebook_rows

GRADEBOOK_CHUNK = 2000  # students per batch of attempts queries
MAX_CASE_STUDIES = 50
MSG_GRADEBOOK_UNKNOWN_CASE_STUDIES = "No case study with this id: {ids}."
MSG_TOO_MANY_CASE_STUDIES = f"At most {MAX_CASE_STUDIES} case studies per gradebook."


@dataclass
class GradebookRow:
    student_name: str
    email: str
    student_number: str  # the SIS number when set, else the user_id (SPEC §4)
    programme_label: str
    programme_ids: list
    last_seen: object
    cards: list  # one per case study of the gradebook: a CaseStudyCard, or None when not assigned nor attempted


def gradebook_case_studies(*, case_study_ids=None, programme_code=None):
    """The gradebook's case studies, by title (then id), each with `programme_id_list`: the
    ones asked for (all of them, a 400 naming `case_study` for an unknown id), else the active
    ones, of `programme_code` when the list is filtered by programme. One query."""
    programme_ids = Programme.objects.filter(case_studies=OuterRef("pk")).order_by().values("pk")
    case_studies = CaseStudy.objects.annotate(programme_id_list=ArraySubquery(programme_ids))
    case_studies = case_studies.order_by("title", "case_study_id")
    if case_study_ids:
        wanted = list(dict.fromkeys(case_study_ids))
        if len(wanted) > MAX_CASE_STUDIES:
            raise AppError.validation({"case_study": MSG_TOO_MANY_CASE_STUDIES})
        found = list(case_studies.filter(pk__in=wanted))
        missing = sorted(set(wanted) - {case_study.pk for case_study in found})
        if missing:
            raise AppError.validation({"case_study": MSG_GRADEBOOK_UNKNOWN_CASE_STUDIES.format(ids=", ".join(missing))})
        return found
    case_studies = case_studies.filter(is_active=True)
    if programme_code:
        case_studies = case_studies.filter(programmes__code__iexact=programme_code.strip()).distinct()
    return list(case_studies[:MAX_CASE_STUDIES])


def gradebook_rows(filterset, case_studies, *, limit=None, chunk_size=GRADEBOOK_CHUNK, using=None):
    """GradebookRow for each student of the list, in its order (at most `limit`). Iterate it
    inside a transaction for the cursor to stream. Queries: the students' cursor, then two per
    chunk of students (sessions, ledger totals)."""
    students = student_gradebook_rows(filterset, limit=limit)
    if using is not None:
        students = students.using(using)
    students = students.iterator(chunk_size=chunk_size)
    while chunk := list(islice(students, chunk_size)):
        cards = students_case_study_cards(student_ids=[row[0] for row in chunk], case_studies=case_studies)
        for pk, name, email, number, label, programme_ids, last_seen in chunk:
            taken = set(programme_ids or ())
            row_cards = []
            for case_study in case_studies:
                card = cards[(pk, case_study.pk)]
                assigned = taken.intersection(case_study.programme_id_list or ())
                row_cards.append(card if assigned or card.attempts else None)
            yield GradebookRow(name, email, number or pk, label, list(programme_ids or ()), last_seen, row_cards)


def programme_names(programme_ids=None):
    """{programme id: (code, name)}, for the per-programme sheets. One query."""
    programmes = Programme.objects.order_by("code")
    if programme_ids is not None:
        programmes = programmes.filter(pk__in=programme_ids)
    return {pk: (code, name) for pk, code, name in programmes.values_list("pk", "code", "name")}
