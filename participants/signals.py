"""Events about participants that other apps act on.

Participants and sessions sit below the reminders app, so they cannot call its planner; they
announce the change instead and reminders, which listens, re-plans after commit. The receiver calls a
service; no rule lives in a signal.
"""
from django.dispatch import Signal

# Sent inside the writing transaction with `participant_ids`: something reminders depend on
# (contact details, time zone, chosen channels or consent) changed for these participants.
reminder_inputs_changed = Signal()

# Sent inside the inviting transaction with `participant_id` and `by_id` (the staff member):
# the reminders app writes the invitation into its outbox, which mints the set-password link
# when it sends the email.
portal_invitation_requested = Signal()
