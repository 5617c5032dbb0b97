"""Security events go to the ``personal_finance.auth`` logger (docs/contracts.md §5)."""

import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

logger = logging.getLogger("personal_finance.auth")


def _client(request) -> str:
    if request is None:
        return "-"
    return request.META.get("HTTP_X_FORWARDED_FOR", request.META.get("REMOTE_ADDR", "-"))


@receiver(user_logged_in)
def log_login(sender, request, user, **kwargs):
    logger.info("login user=%s id=%s from=%s", user.get_username(), user.pk, _client(request))


@receiver(user_logged_out)
def log_logout(sender, request, user, **kwargs):
    logger.info("logout user=%s from=%s", getattr(user, "pk", None), _client(request))


@receiver(user_login_failed)
def log_login_failed(sender, credentials, request=None, **kwargs):
    logger.warning("failed login username=%r from=%s", credentials.get("username"), _client(request))
