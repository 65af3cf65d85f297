from django.urls import path

from . import views

urlpatterns = [
    path("participants/<uuid:code>/audit/", views.chart_trail, name="participant_audit_trail"),
]
