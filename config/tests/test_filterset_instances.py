"""config.query.FilterSet: instances made cheaply (shallow filters, one form class, fields
copied without their widgets) behave as django-filter's own: each with its own data, cleaned
values, errors and queryset, at once on several threads."""
from concurrent.futures import ThreadPoolExecutor

from django.http import QueryDict

from students.listing.filters import StudentListFilter
from students.models import LISTED, Student


def _filterset(query):
    return StudentListFilter(QueryDict(query), queryset=Student.objects.filter(LISTED))


def test_each_instance_has_its_own_fields_sharing_only_what_validation_reads():
    first, second = _filterset("status=active").form, _filterset("status=inactive").form
    assert type(first) is type(second)
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].widget is second.fields[name].widget  # read, never written
    assert first.fields is not type(first).base_fields


def test_each_instance_keeps_its_own_values_and_errors():
    good, bad = _filterset("status=ACTIVE&sort_order=desc"), _filterset("status=gone&start_date=nope")
    assert good.is_valid() and not bad.is_valid()
    assert good.form.cleaned_data["status"] == "active" and good.sort == ("last_seen", "desc")
    assert set(bad.errors) == {"status", "start_date"}
    assert _filterset("status=active").is_valid()  # the bad instance left nothing behind
    assert good.filters["status"].parent is good and bad.filters["status"].parent is bad


def test_instances_on_many_threads_validate_independently():
    queries = [f"status={['active', 'inactive', 'wrong'][n % 3]}&search=s{n}" for n in range(300)]

    def outcome(query):
        filterset = _filterset(query)
        return filterset.is_valid(), filterset.form.cleaned_data.get("search"), sorted(filterset.errors)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(outcome, queries))
    for n, (valid, search, errors) in enumerate(results):
        assert valid == (n % 3 != 2)
        assert search == f"s{n}"
        assert errors == ([] if n % 3 != 2 else ["status"])
