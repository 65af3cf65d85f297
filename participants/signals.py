"""Events about participants that other apps act on.

Participants builds on programs only, so it cannot call the reminder planner (in sessions); it
announces the change instead and sessions, which listens, re-plans. The receiver calls a
service; no rule lives in a signal.
"""
from django.dispatch import Signal

# Sent inside the writing transaction with `participant_ids`: something reminders depend on
# (contact details, time zone, chosen channels or consent) changed for these participants.
reminder_inputs_changed = Signal()
