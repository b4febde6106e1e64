from django.contrib import admin

from students.models import Cohort, Enrolment, Student, StudentCluster, StudentGroup


class EnrolmentInline(admin.TabularInline):
    model = Enrolment
    extra = 0
    autocomplete_fields = ("programme",)


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ("user_id", "first_name", "last_name", "email", "status", "enrollment_status", "archived", "last_seen")
    list_filter = ("status", "enrollment_status", "archived")
    search_fields = ("user_id", "first_name", "last_name", "email", "student_number")
    readonly_fields = ("programme_label", "last_seen", "created_at", "updated_at", "deleted_at")
    inlines = [EnrolmentInline]
    list_select_related = ()
    show_full_result_count = False  # counting 100,000 rows on every page is wasted work


@admin.register(StudentCluster)
class StudentClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name",)


@admin.register(StudentGroup)
class StudentGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "cluster", "created_at")
    search_fields = ("name",)
