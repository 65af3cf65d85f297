"""Events about sites that other apps act on: the reminders app (a layer up) tells the people
expected at a site whose address changes."""
from django.dispatch import Signal

# Sent inside the writing transaction, before the new address is saved, with `site_id`: the
# reminders app notes a change notice for everyone expected there soon, holding the address
# they knew. Not sent when staff chose not to tell anyone.
site_address_changing = Signal()
