from django.urls import re_path

from accounts.audit import apis

urlpatterns = [re_path(r"^audit-events/?$", apis.AuditEventListApi.as_view(), name="audit-events")]
