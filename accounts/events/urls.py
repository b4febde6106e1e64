from django.urls import re_path

from accounts.events import apis

urlpatterns = [re_path(r"^events/?$", apis.EventFeedApi.as_view(), name="events")]
