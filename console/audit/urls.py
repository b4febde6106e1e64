from django.urls import path

from console.audit import views

pages = [path("audit/", views.audit_events, name="audit")]
