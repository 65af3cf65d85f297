"""Delivery channels: SMS backends and email, with one pair of errors for "retry" and "give up".

    from reminders.channels import (get_sms_backend, send_email_message, SmsMessage,
                                   TransientChannelError, PermanentChannelError)
"""
from .base import ChannelError, PermanentChannelError, SmsMessage, TransientChannelError
from .email import send_email_message
from .sms import get_sms_backend

__all__ = [
    "ChannelError",
    "PermanentChannelError",
    "SmsMessage",
    "TransientChannelError",
    "get_sms_backend",
    "send_email_message",
]
