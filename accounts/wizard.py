"""The four-step account creation wizard: each step's typed input is kept in the session (a
password only as its argon2 hash), every step is validated again at Create, and the account is
made by one service call, so a wizard left half-way saves nothing."""

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy

from domains.models import Domain, SubscriptionType
from tempusmail.views import add_service_error

from . import forms, services
from .models import EmailAccount
from .subscriptions import offered_subscriptions

STEPS = {
    1: gettext_lazy("New account"),
    2: gettext_lazy("Services"),
    3: gettext_lazy("Account security"),
    4: gettext_lazy("Options"),
}
STEP_DEFAULTS = {3: {"password_expiry_months": 0}, 4: {"forward_keep_copy": True}}
NOT_KEPT = ("csrfmiddlewaretoken", "action", "password")


@dataclass
class Outcome:
    """What the view does next: go to a step, show a form, or the account is created."""

    step: int = 1
    form: object = None
    go_to: int | None = None
    generated: str | None = None
    account: EmailAccount | None = None
    check_step: bool = False


class AccountWizard:
    def __init__(self, session, domain: Domain, *, restart: bool = False) -> None:
        self.session, self.domain = session, domain
        self.key = f"account-wizard-{domain.pk}"
        if restart:
            session.pop(self.key, None)
        self.data: dict = session.get(self.key, {})

    @staticmethod
    def step_of(value) -> int:
        try:
            return min(max(int(value or 1), 1), len(STEPS))
        except ValueError:
            return 1

    @property
    def password_set(self) -> bool:
        return bool(self.data.get("password_hash"))

    def form(self, step: int, data=None):
        stored = self.data.get(str(step))
        if data is None and stored is not None:
            data = MultiValueDict(stored)
        domain = self.domain
        if step == 1:
            return forms.NewAccountForm(
                data,
                domain=domain,
                password_set=self.password_set,
                subscriptions=offered_subscriptions(),
            )
        if step == 2:
            subscription = self.subscription
            initial = {
                "quota_mb": subscription.storage_mb
                if subscription
                else min(domain.storage_options_mb, default=None),
                "services": [
                    s
                    for s in domain.offered_services()
                    if subscription is None or s in subscription.services
                ],
            }
            return forms.ServicesForm(
                data, domain=domain, subscription=subscription, initial=initial
            )
        if step == 3:
            return forms.SecurityForm(data, initial=STEP_DEFAULTS[3])
        local = (self.data.get("1") or {}).get("local_part", [""])[0].strip().lower()
        return forms.OptionsForm(data, address=f"{local}@{domain.name}", initial=STEP_DEFAULTS[4])

    @property
    def subscription(self) -> SubscriptionType | None:
        """The subscription chosen at step 1 (an offered one), if any."""
        chosen = (self.data.get("1") or {}).get("subscription", [""])[0]
        if not str(chosen).isdigit():
            return None
        return offered_subscriptions().filter(pk=int(chosen)).first()

    def _save(self) -> None:
        self.session[self.key] = self.data

    def submit(self, step: int, post) -> Outcome:
        """One step's POST: back, generate a password, next, or create (at the last step)."""
        action = post.get("action", "next")
        self.data[str(step)] = {k: post.getlist(k) for k in post if k not in NOT_KEPT}
        form = self.form(step, data=post)
        if action == "back":
            self._save()
            return Outcome(go_to=step - 1)
        if action == "generate" and step == 1:
            generated = forms.generate_password()
            self.data["password_hash"] = make_password(generated)
            self._save()
            return Outcome(step=1, form=self.form(1), generated=generated)
        if not form.is_valid():
            self._save()
            return Outcome(step=step, form=form)
        if step == 1 and form.cleaned_data["password"]:
            self.data["password_hash"] = make_password(form.cleaned_data["password"])
        self._save()
        if action == "create" and step == len(STEPS):
            return self.finish()
        return Outcome(go_to=step + 1)

    def finish(self) -> Outcome:
        """Validate every step again from the session, then create in one transaction."""
        cleaned = {}
        for step in STEPS:
            form = self.form(step)
            if not form.is_valid():
                return Outcome(go_to=step, check_step=True)
            cleaned[step] = form.cleaned_data
        names = cleaned.pop(1)
        aliases = cleaned[len(STEPS)].pop("aliases", [])
        try:
            account = services.account_create(
                domain=self.domain,
                local_part=names["local_part"],
                first_name=names["first_name"],
                last_name=names["last_name"],
                password_hash=self.data["password_hash"],
                options={k: v for data in cleaned.values() for k, v in data.items()},
                subscription=names.get("subscription"),
                aliases=aliases,
            )
        except ValidationError as error:
            form = self.form(len(STEPS))
            form.is_valid()
            add_service_error(form, error)
            return Outcome(step=len(STEPS), form=form)
        self.session.pop(self.key, None)
        return Outcome(account=account)
