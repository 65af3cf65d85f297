"""Reminders: planned rows in the database, claimed by a sweeper, delivered by a send task.

planner.py writes rows, sweeper.py claims due rows and enqueues sends, delivery.py re-checks and
sends one row, messages.py renders neutral text, visits.py says what a visit day is, timing.py
when a reminder is due. tasks.py and admin.py are thin wrappers around those services.
"""
