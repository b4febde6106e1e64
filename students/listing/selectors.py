"""The console's student list (SPEC §7.1): one selector feeds the JSON list, the HTML list
and the export, so a filter behaves the same in all three; and the student the detail pages
start from."""
import functools

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connections
from django.db.models import F, JSONField, OuterRef, Subquery, Value, Window
from django.db.models.functions import Coalesce, JSONObject, Lower, RowNumber
from django.http import QueryDict

from config.compiled import Slot, compiled_once
from config.errors import AppError
from students.listing.filters import CASE_STUDIES_SORT, StudentFileFilter, StudentListFilter
from students.models import ARCHIVED, LISTED, Enrolment, ListedCount, Student, name_order

MSG_STUDENT_NOT_FOUND = "Student not found in the current tenant."


def _ordering(sort_by, sort_order):
    """ORDER BY matching the partial indexes on Student; ties always on user_id ascending.
    Students without activity (last_seen NULL) sort last in both directions."""
    descending = sort_order == "desc"
    if sort_by == "last_seen":
        key = F("last_seen").desc(nulls_last=True) if descending else F("last_seen").asc(nulls_last=True)
    elif sort_by == "name":
        key = name_order(Lower("full_name")).desc() if descending else name_order(Lower("full_name")).asc()
    elif sort_by == "programme":
        key = name_order(Lower("programme_label")).desc() if descending else name_order(Lower("programme_label")).asc()
    elif sort_by == CASE_STUDIES_SORT:
        key = F("overall_case_studies").desc() if descending else F("overall_case_studies").asc()
    else:
        key = F("status").desc() if descending else F("status").asc()
    return [key, F("user_id").asc()]


def student_file_filterset(params, *, archived=False):
    """student_list_filterset for a file of the list (the export, the gradebook, a background
    export) and the console's page: StudentFileFilter, which also sorts by the console's Case
    studies column, since the page's download buttons carry its sort."""
    return student_list_filterset(params, archived=archived, filterset_class=StudentFileFilter)


def student_list_filterset(params, *, archived=False, filterset_class=StudentListFilter):
    """Validate list parameters; raises a 400 naming the field when any is bad. With
    `archived`, the same filters over the archived students (not deleted) instead of the
    listed ones."""
    filterset = filterset_class(params, queryset=_students(archived).all())
    filterset.archived = archived
    if not filterset.is_valid():
        raise AppError.validation({field: list(msgs) for field, msgs in filterset.errors.items()})
    return filterset


@functools.cache
def _students(archived):
    """The listed (or archived) students, as a queryset made once: each list request clones it
    (`.all()`), for a twentieth of the cost of resolving the filter again."""
    return Student.objects.filter(ARCHIVED) if archived else Student.objects.filter(LISTED)


def student_list(filterset):
    """Listed students (not archived, not deleted) filtered and ordered per SPEC §7.1, from a
    valid StudentListFilter (student_list_filterset validates the parameters once).

    Returns an unevaluated queryset; rows carry `overall_case_studies`, and `programme_rows`
    in code order. For a page of the list, student_list_page costs less."""
    return _as_rows(filterset.qs, _ordering(*filterset.sort))


@functools.cache
def programme_rows():
    """A student's programmes as [{"code", "name"}] in code order, read in the row's own
    statement: a prefetch would be one more statement, and building its objects most of the
    list's time in the ORM. Built once: a query resolves a copy of it."""
    enrolments = Enrolment.objects.filter(student_id=OuterRef("pk")).order_by().values("student_id")
    programmes = JSONObject(code="programme__code", name="programme__name")
    enrolments = enrolments.annotate(rows=JSONBAgg(programmes, order_by="programme__code")).values("rows")
    return Coalesce(Subquery(enrolments), Value([], output_field=JSONField()))


def _as_rows(queryset, ordering):
    """`queryset` as the list's rows: with overall_case_studies and programme_rows, in the
    list's order."""
    queryset = queryset.order_by(*ordering)
    return queryset.annotate(programme_rows=programme_rows())


# Filters that narrow the list to the rows matching them; `status` alone does not need a count.
_NARROWING = ("search", "programme", "start_date", "end_date", "cohort", "advisor", "group", "imported")


EXPORT_FIELDS = ("full_name", "email", "programme_label", "status", "overall_case_studies", "last_seen")


def student_export_rows(filterset, *, limit, cells=None):
    """The first `limit` rows (None: all) of the list as value tuples of EXPORT_FIELDS, or of
    `cells` (name -> an expression over the student's fields: a file that formats its cells in
    SQL), unevaluated: iterate it with a server-side cursor, or COPY its SQL."""
    queryset = filterset.qs.order_by(*_ordering(*filterset.sort))
    queryset = queryset.annotate(**cells).values_list(*cells) if cells else queryset.values_list(*EXPORT_FIELDS)
    return queryset if limit is None else queryset[:limit]


GRADEBOOK_FIELDS = ("pk", "full_name", "email", "student_number", "programme_label", "programme_ids", "last_seen")


def student_gradebook_rows(filterset, *, limit=None, **columns):
    """The list's rows, in its order, as value tuples of GRADEBOOK_FIELDS, then `columns`
    (named expressions on the student's row), then the row's number in that order (for a
    statement that joins them to more and sorts by it), unevaluated. `limit` None: all."""
    ordering = _ordering(*filterset.sort)
    queryset = filterset.qs.order_by(*ordering)
    queryset = queryset.annotate(**columns, _row=Window(RowNumber(), order_by=ordering))
    queryset = queryset.values_list(*GRADEBOOK_FIELDS, *columns, "_row")
    return queryset if limit is None else queryset[:limit]


def student_list_page(filterset, *, skip, limit):
    """(rows skip..skip+limit of the list as student_list gives them, the exact total).

    Without a narrowing filter the total is read from the maintained counts (ListedCount: two
    rows, whatever the tenant's size); on the first page, in the same statement as the rows.
    With one, the matches are found by the filters' own path, then counted and sorted in the
    same statement that picks the page (`_matches_page`), so a search runs once and its cost
    grows with the matches, not the tenant; without one, the offset walks the sort's index over
    bare keys. Either way `overall_case_studies` and programmes are read for the rows returned
    only. Queries: the first page without a narrowing filter, one; otherwise the total or the
    keys with it, then the page rows (a count alone for a page past the end)."""
    data = filterset.form.cleaned_data
    shape = listed_shape(filterset)
    narrowed = shape is None
    if not narrowed and not skip:
        # The first page: the rows and the total in one statement (the total again alone only
        # when there are no rows), compiled once per shape.
        rows = _first_page(type(filterset), shape, filterset.sort, limit)()
        return rows, rows[0]._listed if rows else ListedCount.total(status=data.get("status") or None)
    ordering = _ordering(*filterset.sort)
    if not narrowed:
        total = ListedCount.total(status=data.get("status") or None)
        keys = filterset.qs.order_by(*ordering).values("pk")[skip : skip + limit] if skip < total else None
    else:
        found = _matches_page(filterset.qs, ordering, skip=skip, limit=limit)
        total = found[0][1] if found else (filterset.qs.count() if skip else 0)
        keys = [key for key, _ in found] or None
    if keys is None:
        return [], total
    return list(_as_rows(Student.objects.filter(pk__in=keys), ordering)), total


def listed_shape(filterset):
    """The filters of a valid `filterset` as sorted (name, value) pairs (as cleaned) when none of
    them narrows the listed students (the status, the sort: a shape a statement is compiled once
    for, config.compiled); None when one does, or for the archived students."""
    data = filterset.form.cleaned_data
    if filterset.archived or any(data.get(name) for name in _NARROWING):
        return None
    return tuple(sorted((name, value) for name, value in data.items() if value not in (None, "")))


def filterset_of_shape(filterset_class, shape):
    """The valid filterset of `filterset_class` with the filters `shape` (from listed_shape)."""
    params = QueryDict(mutable=True)
    for name, value in shape:
        params[name] = value
    return student_list_filterset(params, filterset_class=filterset_class)


def _matches_page(queryset, ordering, *, skip, limit):
    """[(key, number of matches)] of rows skip..skip+limit of `queryset` in `ordering`, one
    statement. The matches are found first, by the path that suits the filters (a search: the
    trigram indexes), then counted and sorted. Asked in the sort's order, PostgreSQL walks the
    sort's index over every student, filtering each, since the LIMIT seems to promise an early
    stop; but counting the matches needs them all, so that walk cost the tenant's size even
    for one match (measured on 10,000 students, a search matching 344: 22 ms against 1.3 ms)."""
    keys = {f"_sort{index}": order.expression for index, order in enumerate(ordering)}
    matches = queryset.order_by().annotate(_key=F("pk"), **keys).values_list("_key", *keys)
    sql, params = matches.query.sql_with_params()
    order_by = ", ".join(
        f"{name} {'DESC' if order.descending else 'ASC'}"
        + (" NULLS LAST" if order.nulls_last else " NULLS FIRST" if order.nulls_first else "")
        for name, order in zip(keys, ordering, strict=True)
    )
    # OFFSET 0 keeps the matches a subquery of their own, planned without the outer ORDER BY.
    statement = f"SELECT _key, count(*) OVER () FROM ({sql} OFFSET 0) AS matches ORDER BY {order_by} LIMIT %s OFFSET %s"
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(statement, (*params, limit, skip))
        return cursor.fetchall()


@compiled_once(maxsize=512)
def _first_page(filterset_class, shape, sort, limit):
    """The first `limit` rows of the listed students that the filters `shape` select ((name,
    value) pairs as cleaned, none narrowing: the status, the sort), in the order `sort`, each
    with the total of such students."""
    filterset = filterset_of_shape(filterset_class, shape)
    ordering = _ordering(*sort)
    page = _as_rows(Student.objects.filter(pk__in=filterset.qs.order_by(*ordering).values("pk")[:limit]), ordering)
    return page.annotate(_listed=ListedCount.total_expression(filterset.form.cleaned_data.get("status") or None))


def student_get(user_id):
    """A student (archived ones included, deleted ones not) with cohort, advisor,
    overall_case_studies and programme_rows, or 404 NOT_FOUND. One query."""
    found = _student_by_id()(user_id=user_id)
    if not found:
        raise AppError.not_found(MSG_STUDENT_NOT_FOUND)
    return found[0]


@compiled_once(maxsize=1)
def _student_by_id():
    return (
        Student.objects.filter(user_id=Slot("user_id"), deleted_at__isnull=True)
        .select_related("cohort", "advisor")
        .annotate(programme_rows=programme_rows())[:1]
    )
