from django.contrib import admin

from catalogue.models import CaseStudy, Programme


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active")
    search_fields = ("code", "name")
    list_filter = ("is_active",)


@admin.register(CaseStudy)
class CaseStudyAdmin(admin.ModelAdmin):
    list_display = ("title", "case_study_id", "is_active", "max_attempts", "grading_method")
    list_filter = ("is_active", "grading_method")
    search_fields = ("title", "case_study_id")
    filter_horizontal = ("programmes",)
