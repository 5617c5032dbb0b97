from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "personal_finance.users"
    verbose_name = "Users"

    def ready(self):
        from . import signals  # noqa: F401
