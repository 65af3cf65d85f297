"""Whether a participant may be reminded on a channel: chosen, reachable and, for SMS, consented."""
from participants.models import ContactConsent, ConsentChannel, Participant, ReminderChannels

from reminders.models import ReminderChannel, ReminderKind, ReminderPolicy, ReminderReason

CHOSEN = {
    ReminderChannel.EMAIL: {ReminderChannels.EMAIL, ReminderChannels.BOTH},
    ReminderChannel.SMS: {ReminderChannels.SMS, ReminderChannels.BOTH},
}


def channel_problem(*, participant: Participant, channel: str, sms_consent: bool) -> str:
    """"" when the participant can be reminded on `channel`, else the reason code."""
    if participant.reminder_channels not in CHOSEN[channel]:
        return ReminderReason.CHANNEL_NOT_CHOSEN
    if channel == ReminderChannel.EMAIL:
        return "" if participant.email else ReminderReason.NO_ADDRESS
    if not participant.phone:
        return ReminderReason.NO_ADDRESS
    return "" if sms_consent else ReminderReason.NO_CONSENT


def sms_consented(*, participant_ids) -> set[int]:
    """Of these participants, those with standing SMS consent (one query)."""
    return set(ContactConsent.objects.filter(
        participant_id__in=participant_ids, channel=ConsentChannel.SMS, revoked_at__isnull=True,
    ).order_by().values_list("participant_id", flat=True))  # a set: no join to sort by name


def channels_for_kind(*, kind: str, policy: ReminderPolicy) -> tuple[str, ...]:
    """Channels a kind of reminder may use at a site (same-day goes by SMS unless the site says)."""
    if kind == ReminderKind.DAY_BEFORE:
        return (ReminderChannel.EMAIL, ReminderChannel.SMS) if policy.day_before_enabled else ()
    if not policy.same_day_enabled:
        return ()
    if policy.same_day_by_email:
        return (ReminderChannel.EMAIL, ReminderChannel.SMS)
    return (ReminderChannel.SMS,)
