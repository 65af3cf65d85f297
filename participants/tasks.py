"""Celery tasks that email sign-in links: participant ids in, one service call each.

(Invitations go through the reminders outbox.)"""
import logging
from smtplib import SMTPException

from celery import shared_task

from . import portal_accounts

logger = logging.getLogger(__name__)

# A relay that is down or slow fails the task, never a request; a few tries a few minutes
# apart, well inside a sign-in link's 30 minutes.
_RETRY = {"autoretry_for": (OSError, SMTPException), "retry_backoff": 60, "retry_jitter": True,
          "max_retries": 3}


@shared_task(name="participants.send_sign_in_links", ignore_result=True, acks_late=True, **_RETRY)
def portal_sign_in_links_send_task(participant_ids: list[int]) -> None:
    # Usually one id; none when the address was nobody's (queued all the same, see portal_accounts).
    sent = sum(portal_accounts.portal_sign_in_link_send(participant_id=int(pk))
               for pk in participant_ids)
    logger.info("portal sign-in links sent: %s", sent)
