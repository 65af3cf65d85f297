"""URLs our providers call. Mounted under /webhooks/ by iop_clinic/urls.py."""
from django.urls import path

from . import webhooks

app_name = "webhooks"
urlpatterns = [
    path("sms/inbound", webhooks.sms_inbound, name="sms_inbound"),
]
