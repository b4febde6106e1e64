from django.urls import re_path

from accounts.staff import apis

urlpatterns = [re_path(r"^staff/?$", apis.StaffListApi.as_view(), name="staff-list")]
