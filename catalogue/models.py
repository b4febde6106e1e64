"""Programmes and case studies: what the students and attempts apps build on."""
from django.db import models
from django.db.models import Q

from config.ids import new_object_id


class Programme(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalogue_programme"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.name}"


class CaseStudy(models.Model):
    class GradingMethod(models.TextChoices):
        HIGHEST = "highest"
        LATEST = "latest"
        FIRST = "first"
        AVERAGE = "average"

    case_study_id = models.CharField(primary_key=True, max_length=64, default=new_object_id)
    title = models.CharField(max_length=300)
    programmes = models.ManyToManyField(
        Programme, related_name="case_studies", blank=True, db_table="catalogue_casestudy_programmes"
    )
    is_active = models.BooleanField(default=True)
    max_attempts = models.PositiveSmallIntegerField(default=2)
    grading_method = models.CharField(max_length=16, choices=GradingMethod.choices, default=GradingMethod.HIGHEST)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalogue_casestudy"
        ordering = ["title", "case_study_id"]
        verbose_name_plural = "case studies"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_attempts__gte=0, max_attempts__lte=100), name="case_study_max_attempts_range"
            )
        ]

    def __str__(self):
        return self.title
