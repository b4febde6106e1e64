from django.urls import re_path

from catalogue.programmes import apis
from catalogue.programmes.selectors import PROGRAMME_CODE
from config.ids import id_in_path

urlpatterns = [
    re_path(r"^programmes/?$", apis.ProgrammeListApi.as_view(), name="programmes"),
    re_path(rf"^programmes/{id_in_path('code', PROGRAMME_CODE)}/?$", apis.ProgrammeDetailApi.as_view(), name="programme"),
]
