from django.urls import re_path

from catalogue.programmes import apis

urlpatterns = [
    re_path(r"^programmes/?$", apis.ProgrammeListApi.as_view(), name="programmes"),
    re_path(r"^programmes/(?P<code>[^/]+)/?$", apis.ProgrammeDetailApi.as_view(), name="programme"),
]
