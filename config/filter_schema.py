"""A FilterSet is the one declaration of the query it reads: its filters' form fields say each
parameter's type, length, pattern, choices, default (`initial`) and help text. They are mapped
to serializer fields here, once:
- drf-spectacular documents the parameters of any view with a `filterset_class` from them
  (FilterSetExtension, on the global DjangoFilterBackend);
- a JSON body that carries the same filters (a background export) takes its fields from
  `filterset_fields`.
The FilterSet validates; these fields only describe (and, in a body, check the type)."""
from django import forms
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.drainage import get_override
from drf_spectacular.openapi import AutoSchema as _AutoSchema
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from config.query import IsoDateTimeBoundField
from config.serializers import IsoDateOrDateTimeField


def filter_serializer_field(filter_, *, in_body=False):
    """The serializer field describing one filter (a class-level FilterSet filter). An empty
    text means "no filter"; a date in a body is left out instead (a query string's empty
    value means "left out"; a body has no such convention)."""
    field = filter_.field
    extra = filter_.extra
    common = {"required": False, "help_text": extra.get("help_text") or None}
    if extra.get("initial") is not None:
        common["default"] = extra["initial"]  # what the FilterSet's reader applies when left out
    schema = get_override(filter_, "field")
    if schema is not None:
        # A filter whose form field reads its own syntax (a list in one value, 1/0) says how,
        # with drf-spectacular's extend_schema_field on its class or instance.
        # (A subclass: DRF copies a serializer's fields by their arguments, not their attributes.)
        return extend_schema_field(schema)(type("DocumentedFilter", (serializers.Field,), {}))(**common)
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(choices=extra["choices"], **common)
    if isinstance(field, IsoDateTimeBoundField):
        return IsoDateOrDateTimeField(allow_blank=not in_body, **common)
    if isinstance(field, forms.CharField):
        validators = list(extra.get("validators", ()))
        # Free text may be empty (no filter); an id or a number has a shape, which "" has not.
        return serializers.CharField(
            allow_blank=not validators, max_length=field.max_length, validators=validators, **common
        )
    raise TypeError(f"{type(field).__name__} ({filter_.field_name}): no serializer field is mapped for it yet")


def filterset_fields(filterset_class, *, in_body=False):
    """{name: serializer field} for every filter of `filterset_class`, in declaration order."""
    return {
        name: filter_serializer_field(filter_, in_body=in_body)
        for name, filter_ in filterset_class.base_filters.items()
    }


def filterset_serializer(filterset_class, *, in_body=False, base=serializers.Serializer):
    """A serializer class whose fields are `filterset_class`'s filters (see filterset_fields)."""
    return type(f"{filterset_class.__name__}Fields", (base,), filterset_fields(filterset_class, in_body=in_body))


class FilterSetExtension(DjangoFilterExtension):
    """The query parameters of a view's `filterset_class`, with everything its form fields
    check (maxLength, pattern, enum, default), not only their types."""

    priority = 1

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        filterset_class = getattr(auto_schema.view, "filterset_class", None)
        if filterset_class is None:
            return []
        # Mapped as drf-spectacular maps a serializer given as `parameters`, so a filter reads
        # exactly as a query serializer's field would; under the name a client spells it
        # (`parameter_names` on the FilterSet: {filter: name}) when that is not the filter's.
        fields = filterset_fields(filterset_class)
        spelled = getattr(filterset_class, "parameter_names", {})
        mapped = auto_schema._map_serializer(filterset_serializer(filterset_class)(), "request")
        return [
            build_parameter_type(
                name=spelled.get(name, name),
                schema=schema,
                description=schema.pop("description", None),
                location=OpenApiParameter.QUERY,
                allow_blank=getattr(fields[name], "allow_blank", True),
                required=False,
            )
            for name, schema in mapped["properties"].items()
        ]


class AutoSchema(_AutoSchema):
    """drf-spectacular's, except that a view with a `filterset_class` documents its filters
    whatever it answers (a page in an envelope, a file), not only when it answers a bare list."""

    def get_filter_backends(self):
        if getattr(self.view, "filterset_class", None) is None:
            return super().get_filter_backends()
        if self.method != "GET":
            return []  # the view's writes read a body, not the list's query
        return getattr(self.view, "filter_backends", api_settings.DEFAULT_FILTER_BACKENDS)
