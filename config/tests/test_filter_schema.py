"""A FilterSet is the one declaration of its query: the schema of every endpoint that reads
the list's filters comes from it (config.filter_schema), and no view switches the filter
backend off to declare them again."""
import django_filters
import pytest
from django.core.validators import RegexValidator
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import get_override
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from config.filter_schema import filter_serializer_field, filterset_fields
from config.query import IsoDateTimeBoundFilter
from console.exports.serializers import ExportJobRequestSerializer
from students.listing.filters import StudentFileFilter, StudentListFilter
from students.records.filters import StudentRecordFilter


@pytest.fixture(scope="module")
def spec():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operation(spec, operation_id):
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation
    raise AssertionError(f"no operation {operation_id}")


def _text_schema(schema):
    """The non-empty alternative of a query parameter's schema (empty means absent)."""
    for option in schema.get("anyOf", [schema]):
        if option.get("maxLength") != 0:
            return option
    raise AssertionError(schema)


@pytest.mark.parametrize(
    ("operation_id", "filterset_class"),
    [
        ("console_students_list", StudentListFilter),
        ("console_students_export", StudentFileFilter),
        ("console_reports_gradebook", StudentFileFilter),
        ("students_list", StudentRecordFilter),
    ],
)
def test_every_filter_is_documented_as_its_filterset_declares_it(spec, operation_id, filterset_class):
    parameters = {p["name"]: p for p in _operation(spec, operation_id)["parameters"] if p["in"] == "query"}
    spelled = getattr(filterset_class, "parameter_names", {})
    for name, filter_ in filterset_class.base_filters.items():
        name = spelled.get(name, name)
        assert name in parameters, name
        schema = _text_schema(parameters[name]["schema"])
        field = filter_.field
        if getattr(field, "max_length", None):
            assert schema["maxLength"] == field.max_length, name
        if "choices" in filter_.extra:
            assert [v for v in schema["enum"] if v != ""] == [v for v, _ in filter_.extra["choices"]], name
        if filter_.extra.get("initial") is not None:
            assert schema["default"] == filter_.extra["initial"], name
        if filter_.extra.get("help_text"):
            assert parameters[name]["description"].startswith(filter_.extra["help_text"]), name
        if get_override(filter_, "field"):  # its own schema, as an empty value's rewrite leaves it
            assert schema["type"] == get_override(filter_, "field")["type"], name


def test_the_records_list_documents_its_id_lists_as_clients_spell_them(spec):
    parameters = {p["name"]: p for p in _operation(spec, "students_list")["parameters"]}
    assert {"ids[]", "cohort_ids[]", "advisor_ids[]", "archived", "q", "page", "per_page"} <= set(parameters)
    assert parameters["cohort_ids[]"]["schema"]["type"] == "array"
    assert "ids" not in parameters


def test_the_list_sorts_by_the_seeds_keys_and_the_files_also_by_case_studies(spec):
    def sort_keys(operation_id):
        parameter = next(p for p in _operation(spec, operation_id)["parameters"] if p["name"] == "sort_by")
        return [v for v in parameter["schema"]["enum"] if v]

    assert sort_keys("console_students_list") == ["name", "last_seen", "programme", "status"]
    assert sort_keys("console_students_export") == ["name", "last_seen", "programme", "status", "case_studies"]


def test_the_background_export_body_carries_the_filters_of_the_file_filterset(spec):
    body = spec["components"]["schemas"]["ExportJobRequestRequest"]["properties"]
    for name, filter_ in StudentFileFilter.base_filters.items():
        assert name in body, name
        if getattr(filter_.field, "max_length", None) and "anyOf" not in body[name]:
            assert body[name]["maxLength"] == filter_.field.max_length, name
    assert set(StudentFileFilter.base_filters) <= set(ExportJobRequestSerializer().fields)


def _views(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)
            if view is not None:
                yield view


def test_no_api_view_switches_the_filter_backend_off():
    defaults = list(api_settings.DEFAULT_FILTER_BACKENDS)
    views = set(_views(get_resolver().url_patterns))
    assert views
    for view in views:
        if hasattr(view, "filter_backends"):
            assert list(view.filter_backends) == defaults, view


def test_a_filters_form_field_becomes_its_schema_field():
    class Sample(django_filters.FilterSet):
        name = django_filters.CharFilter(max_length=12, help_text="A name.")
        code = django_filters.CharFilter(max_length=8, validators=[RegexValidator(r"^[A-Z]+\Z")])
        kind = django_filters.ChoiceFilter(choices=[("a", "A"), ("b", "B")], initial="a")
        since = IsoDateTimeBoundFilter(field_name="x")
        spelled = extend_schema_field({"type": "array", "items": {"type": "string"}})(
            type("ListFilter", (django_filters.Filter,), {})
        )()

    fields = filterset_fields(Sample)
    assert list(fields) == ["name", "code", "kind", "since", "spelled"]
    assert get_override(fields["spelled"], "field") == {"type": "array", "items": {"type": "string"}}
    assert isinstance(fields["name"], serializers.CharField)
    assert (fields["name"].max_length, fields["name"].allow_blank, fields["name"].help_text) == (12, True, "A name.")
    assert fields["code"].allow_blank is False  # a shaped value: "" is not one
    assert any(isinstance(v, RegexValidator) for v in fields["code"].validators)
    assert list(fields["kind"].choices) == ["a", "b"] and fields["kind"].default == "a"
    assert fields["since"].allow_blank is True
    assert filterset_fields(Sample, in_body=True)["since"].allow_blank is False


def test_a_filter_with_no_mapping_is_refused_rather_than_documented_wrong():
    with pytest.raises(TypeError, match="NumberFilter|DecimalField"):
        filter_serializer_field(django_filters.NumberFilter(field_name="n"))
