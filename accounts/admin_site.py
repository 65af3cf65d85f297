"""The admin site: django-otp's OTPAdminSite under the usual "admin" name.

OTPAdminSite treats a user who has not passed a second factor in this session as if they were
not staff, and its login form asks for the code. Keeping the instance name "admin" keeps every
`reverse("admin:...")` in the project working.
"""
from django.conf import settings
from django_otp.admin import OTPAdminSite


class ClinicAdminSite(OTPAdminSite):
    site_header = f"{settings.CLINIC_NAME} administration"
    site_title = settings.CLINIC_NAME

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
