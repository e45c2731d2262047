"""A mail backend that refuses every message, as a mail server having a bad minute does (tests set
settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend")."""

from smtplib import SMTPServerDisconnected

from django.core.mail.backends.base import BaseEmailBackend


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")
