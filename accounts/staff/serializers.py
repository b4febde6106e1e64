from rest_framework import serializers

from config.serializers import enveloped, page_query

StaffPageQuery = page_query(
    per_page_default=100, per_page_max=500, page_help="1-based page number.", per_page_help="Staff per page (1-500)."
)


class StaffSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The id a student record's advisor_id takes.")
    name = serializers.CharField(source="full_name")
    email = serializers.EmailField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return [role.name for role in user.roles.all()]


StaffPageEnvelope = enveloped("StaffPage", StaffSerializer, many=True, paged=True)
