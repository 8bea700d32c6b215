"""The one place that decides whose data the portal shows: only the signed-in user's own."""

from accounts.models import EmailAccount
from tempusmail.tenancy import not_found

from .models import Signature


def get_mailbox_for(user) -> EmailAccount:
    """The signed-in user's mailbox; a user without one (an admin) gets a 404."""
    if not user.is_authenticated:
        raise not_found()
    account = (
        EmailAccount.objects.select_related("domain__organization__plan", "user")
        .filter(user=user, deleting=False)
        .first()
    )
    if account is None:
        raise not_found()
    return account


def get_signature_for(account: EmailAccount, pk) -> Signature:
    """One of the account's own signatures; anybody else's is a 404."""
    signature = Signature.objects.filter(account=account, pk=pk).first()
    if signature is None:
        raise not_found()
    return signature
