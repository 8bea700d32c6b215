"""An organization's members: owners invite admins by email (a one-time link, only its hash
kept), change roles and remove members. The last owner can be neither removed nor demoted:
every change counts the owners with the organization's row locked, so two owners demoting
each other at once cannot leave nobody in charge."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tempusmail.audit import audit

from .billing import lock_organization
from .models import Invitation, Membership, Organization, Role

INVITATION_DAYS = 7


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def member_invite(
    *, organization: Organization, email: str, role: str, invited_by_email: str
) -> tuple[Invitation, str]:
    """A new invitation and its secret token (shown in the link once, never stored)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid email address.")}) from None
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a role.")})
    with transaction.atomic():
        org = lock_organization(organization.pk)
        if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
            raise ValidationError({"email": _("%(email)s is already a member.") % {"email": email}})
        now = timezone.now()
        Invitation.objects.filter(
            organization=org, email=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=now)
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            organization=org,
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by_email=invited_by_email,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        audit(action="member.invite", obj=invitation, organization_id=org.pk, fields=["role"])
    return invitation, token


def send_invitation(*, invitation: Invitation, link: str) -> None:
    """The invitation email; the page shows the link too, so a mail outage loses nothing."""
    send_mail(
        _("Invitation to %(organization)s on TempusMail")
        % {"organization": invitation.organization},
        _(
            "%(who)s invites you to manage %(organization)s as %(role)s.\n\n"
            "Open this link to accept (valid for %(days)d days, once):\n%(link)s\n"
        )
        % {
            "who": invitation.invited_by_email or _("An owner"),
            "organization": invitation.organization,
            "role": invitation.get_role_display(),
            "days": INVITATION_DAYS,
            "link": link,
        },
        None,
        [invitation.email],
    )


def open_invitation(token: str) -> Invitation | None:
    """The invitation a link names, if it can still be used."""
    if not token or len(token) > 100:
        return None
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=token_hash(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_open else None


def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """Make `user` (whose email is the invited one) a member, once: the link is spent."""
    with transaction.atomic():
        held = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not held.is_open:
            raise ValidationError(_("This invitation was used already, revoked or has expired."))
        if user.email.lower() != held.email.lower():
            raise ValidationError(_("This invitation is for another email address."))
        membership, created = Membership.objects.get_or_create(
            user=user, organization_id=held.organization_id, defaults={"role": held.role}
        )
        held.accepted_at = timezone.now()
        held.save(update_fields=["accepted_at"])
        invitation.accepted_at = held.accepted_at
        if created:
            audit(action="member.join", obj=membership, organization_id=held.organization_id)
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    if invitation.accepted_at or invitation.revoked_at:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(action="member.invite_revoke", obj=invitation, organization_id=invitation.organization_id)


def _owners(organization_id: int) -> int:
    return Membership.objects.filter(organization_id=organization_id, role=Role.OWNER).count()


def member_set_role(*, membership: Membership, role: str) -> bool:
    """True if the role changed."""
    if role not in Role.values:
        raise ValidationError(_("Choose a role."))
    with transaction.atomic():
        lock_organization(membership.organization_id)
        held = Membership.objects.select_for_update().get(pk=membership.pk)
        if held.role == role:
            return False
        if held.role == Role.OWNER and _owners(held.organization_id) <= 1:
            raise ValidationError(
                _("%(email)s is the last owner: make someone else an owner first.")
                % {"email": held.user.email}
            )
        held.role = role
        held.save(update_fields=["role"])
        membership.role = role
        audit(action="member.role", obj=held, fields=["role"])
    return True


def member_remove(*, membership: Membership) -> None:
    with transaction.atomic():
        lock_organization(membership.organization_id)
        held = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if held is None:
            return
        if held.role == Role.OWNER and _owners(held.organization_id) <= 1:
            raise ValidationError(
                _("%(email)s is the last owner and cannot be removed.") % {"email": held.user.email}
            )
        audit(action="member.remove", obj=held)
        held.delete()


def members_require_2fa_update(*, organization: Organization, required: bool) -> bool:
    """Owners decide whether every member must sign in with two-factor authentication."""
    if organization.members_require_2fa == required:
        return False
    organization.members_require_2fa = required
    organization.save(update_fields=["members_require_2fa"])
    audit(
        action="organization.update",
        obj=organization,
        organization_id=organization.pk,
        fields=["members_require_2fa"],
    )
    return True
