"""Bringing a clinic in: importing its census (participants, consents, enrollments, attendance)."""
