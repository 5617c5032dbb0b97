"""`seed_demo`: the demo user (demo / demo) and the demo data. Idempotent (DESIGN section 9)."""

import json

from django.core.management.base import BaseCommand
from django.db import transaction

from personal_finance.users.models import User


class Command(BaseCommand):
    help = "Create the demo user (demo / demo) and demo data. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    @transaction.atomic
    def handle(self, *args, **options):
        user, created = User.objects.get_or_create(username="demo", defaults={"name": "Demo Investor"})
        if created or not user.check_password("demo"):
            user.set_password("demo")
            user.save(update_fields=["password"])
        summary = {"user": user.username, "user_created": created}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(f"demo user {'created' if created else 'ready'}: demo / demo")
