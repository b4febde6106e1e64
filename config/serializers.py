"""Serializer pieces every API shares: the opaque id field and the envelope for the schema."""
from rest_framework import serializers

from config.ids import is_valid_opaque_id

MSG_BAD_ID = "Use 1-64 letters, digits or _ . : - (starting with a letter or digit)."


class OpaqueIdField(serializers.CharField):
    """An id in the shape config.ids accepts (our 24-hex ids and other systems' ids)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not is_valid_opaque_id(value):
            raise serializers.ValidationError(MSG_BAD_ID)
        return value


def enveloped(name, data, *, many=False, paged=False):
    """A schema component for `{"success", "data", "message"}` (plus the paging fields).

    `data` is a serializer class (instantiated with `many`) or a ready serializer/field."""
    fields = {
        "success": serializers.BooleanField(default=True),
        "data": data(many=many) if isinstance(data, type) else data,
        "message": serializers.CharField(allow_null=True, default=None),
    }
    if paged:
        fields.update(
            total=serializers.IntegerField(),
            page=serializers.IntegerField(),
            page_size=serializers.IntegerField(),
            total_pages=serializers.IntegerField(),
        )
    return type(name, (serializers.Serializer,), fields)
