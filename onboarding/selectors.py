"""Reads of the onboarding app: a director's census uploads."""
from django.db.models import QuerySet

from .models import CensusUpload


def census_uploads_of(*, user) -> QuerySet[CensusUpload]:
    """The uploads `user` made, newest first, without their (large) content."""
    return CensusUpload.objects.filter(uploaded_by=user).defer("content")
