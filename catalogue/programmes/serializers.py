"""Request and response shapes of /v1/programmes (SPEC §7.6), and the programme pieces other
APIs show or read (a programme reference, a programme-code field, the catalogue's is_active
filter)."""
from rest_framework import serializers

from catalogue.programmes.selectors import PROGRAMME_CODE_VALIDATOR
from config.query import MSG_BOOLEAN_WORDS_OR_DIGITS
from config.serializers import QueryBooleanField, StrictSerializer, page_query

CataloguePageQuery = page_query()


class ProgrammeCodeField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)
        self.validators.append(PROGRAMME_CODE_VALIDATOR)


def is_active_filter():
    """The catalogue lists' `is_active` query parameter: 1/0/true/false."""
    return QueryBooleanField(required=False, true=("1", "true"), false=("0", "false"), message=MSG_BOOLEAN_WORDS_OR_DIGITS)


class ProgrammeRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


# Output ---------------------------------------------------------------------------------


class ProgrammeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# Input ----------------------------------------------------------------------------------


class ProgrammeWriteSerializer(StrictSerializer):
    code = ProgrammeCodeField()
    name = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(required=False)


class ProgrammeListQuerySerializer(CataloguePageQuery):
    is_active = is_active_filter()
