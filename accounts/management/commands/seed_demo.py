"""Create (or refresh) the demo organization `make run` shows, and print an admin login."""

import os
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.forms import generate_password
from accounts.models import EmailAccount, User
from domains.models import Domain, Membership, Organization, Plan, Role, SubscriptionType
from domains.services import domain_create, domain_mark_verified
from tempusmail.mailbackend.base import SERVICES

DEMO_ACCOUNTS = [("alice", "Alice", "Rossi"), ("bob", "Bob", "Bianchi"), ("info", "Info desk", "")]


class Command(BaseCommand):
    help = "Create the demo organization, domain and accounts; print the admin login."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@tempusmail.test")
        parser.add_argument("--domain", default="demo.example")
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="where the panel answers (banner)"
        )

    def handle(self, *args, email, domain, url, **options):
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or generate_password()
        with transaction.atomic():
            plan, _ = Plan.objects.get_or_create(
                name="Business",
                defaults={
                    "max_domains": 10,
                    "max_accounts": 200,
                    "storage_options_mb": [1024, 5120, 10240, 51200],
                    "services": list(SERVICES),
                    "default_daily_send_limit": 500,
                    "max_daily_send_limit": 5000,
                },
            )
            org, _ = Organization.objects.get_or_create(
                name="Demo Company", defaults={"plan": plan}
            )
            admin = User.objects.filter(email=email).first() or User(email=email)
            admin.first_name, admin.is_staff, admin.is_superuser = "Demo admin", True, True
            admin.set_password(password)
            admin.save()
            Membership.objects.get_or_create(
                user=admin, organization=org, defaults={"role": Role.OWNER}
            )
            dom = Domain.objects.filter(name=domain).first()
            if dom is None:
                dom = domain_create(organization=org, name=domain)
                # The demo's own domain: vouched for as staff would (no DNS to publish in).
                domain_mark_verified(domain=dom, by_staff=True)
            # Subscriptions the demo offers (docs/billing.md); the demo mailboxes are free.
            basic, _ = SubscriptionType.objects.get_or_create(
                name="Basic",
                defaults={
                    "monthly_price": Decimal("0.00"),
                    "storage_mb": 1024,
                    "max_aliases": 2,
                    "services": ["pop", "imap", "smtp", "webmail"],
                },
            )
            SubscriptionType.objects.get_or_create(
                name="Pro",
                defaults={
                    "monthly_price": Decimal("3.90"),
                    "storage_mb": 10240,
                    "max_aliases": 10,
                    "services": list(SERVICES),
                },
            )
            for local, first, last in DEMO_ACCOUNTS:
                existing = EmailAccount.objects.filter(address=f"{local}@{dom.name}").first()
                if existing is not None:  # run again: the banner's password is theirs too
                    services.account_set_password(
                        account=existing, password_hash=make_password(password), force_change=False
                    )
                else:
                    services.account_create(
                        domain=dom,
                        local_part=local,
                        first_name=first,
                        last_name=last,
                        password_hash=make_password(password),
                        options={},
                        subscription=basic if basic.is_active else None,
                    )
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Panel: {url}   login: {email}   password: {password}\n"
                f"  Demo mailboxes on {dom.name} ({', '.join(a for a, *_ in DEMO_ACCOUNTS)}) "
                f"use the same password.\n"
            )
        )
