"""Delivery channels (stand-in until the channels branch merges; keep this interface)."""
from .base import ChannelError, PermanentChannelError, SmsMessage, TransientChannelError
from .email import send_email_message
from .sms import get_sms_backend

__all__ = ["ChannelError", "PermanentChannelError", "SmsMessage", "TransientChannelError",
           "get_sms_backend", "send_email_message"]
