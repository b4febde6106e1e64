from django.contrib import admin

from attempts.models import AttemptGrant, Session


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("session_id", "student", "case_study", "status", "score", "transcript_status", "grading_status", "started_at")
    list_filter = ("status", "transcript_status", "grading_status")
    search_fields = ("session_id", "student__user_id", "student__email")
    raw_id_fields = ("student", "case_study")
    show_full_result_count = False


@admin.register(AttemptGrant)
class AttemptGrantAdmin(admin.ModelAdmin):
    """The ledger is append-only: it can be read here, never changed."""

    list_display = ("created_at", "student", "case_study", "delta", "reason", "actor_email")
    search_fields = ("student__user_id", "student__email", "reason")
    raw_id_fields = ("student", "case_study", "actor")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
