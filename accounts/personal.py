"""A person's own data besides the mailbox settings: the photo (validated by its content,
never by its name or declared type), and joining an organization by invitation."""

import io
import warnings

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from domains.members import invitation_accept
from domains.models import Invitation, Membership
from tempusmail.audit import audit

from .models import User, UserPhoto
from .passwords import check_password_policy

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 25_000_000  # e.g. 5000 × 5000; a 50-megapixel image is refused unread
PHOTO_SIDE = 256
PHOTO_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


def process_photo(data: bytes) -> bytes:
    """The upload as a new JPEG of at most 256 × 256 pixels: decoding and re-encoding keeps
    the pixels and drops everything else (EXIF with its GPS position, comments, scripts)."""
    if not data:
        raise ValidationError(_("Choose an image file."))
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationError(
            _("The photo is larger than %(mb)d MB.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)}
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind, (width, height) = probe.format, probe.size
                if kind not in PHOTO_FORMATS:
                    raise ValidationError(_("Upload a JPEG, PNG, GIF or WebP image."))
                if width * height > MAX_PHOTO_PIXELS:
                    raise ValidationError(
                        _("The image has %(mp)s megapixels; at most %(max)d are accepted.")
                        % {"mp": round(width * height / 1e6, 1), "max": MAX_PHOTO_PIXELS // 10**6}
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)
                image = ImageOps.exif_transpose(image)
                image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
                if image.mode in ("RGBA", "LA", "P", "PA"):
                    image = image.convert("RGBA")
                    flat = Image.new("RGB", image.size, (255, 255, 255))
                    flat.paste(image, mask=image.getchannel("A"))
                    image = flat
                elif image.mode != "RGB":
                    image = image.convert("RGB")
                out = io.BytesIO()
                image.save(out, "JPEG", quality=85, optimize=True)
    except ValidationError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ):
        raise ValidationError(
            _("This file is not an image we can read: upload a JPEG, PNG, GIF or WebP photo.")
        ) from None
    return out.getvalue()


def user_set_photo(*, user: User, data: bytes) -> None:
    jpeg = process_photo(data)
    with transaction.atomic():
        now = timezone.now()
        UserPhoto.objects.update_or_create(user=user, defaults={"data": jpeg, "updated_at": now})
        user.photo_updated_at = now
        user.save(update_fields=["photo_updated_at"])
        audit(action="user.photo", obj=user, organization_id=_organization_id(user))


def user_remove_photo(*, user: User) -> bool:
    with transaction.atomic():
        deleted, _rows = UserPhoto.objects.filter(user=user).delete()
        if user.photo_updated_at is not None:
            user.photo_updated_at = None
            user.save(update_fields=["photo_updated_at"])
        if deleted:
            audit(action="user.photo_remove", obj=user, organization_id=_organization_id(user))
    return bool(deleted)


def _organization_id(user: User) -> int | None:
    account = getattr(user, "mailbox", None)
    return account.organization_id if account is not None else None


def invitation_sign_up(
    *, invitation: Invitation, first_name: str, last_name: str, password: str
) -> tuple[User, Membership]:
    """A new login for an invited person: their own password (the policy applies), then the
    membership; the invitation is spent in the same transaction."""
    with transaction.atomic():
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError(_("This address already has a login: sign in to accept."))
        user = User(
            email=invitation.email.lower(),
            first_name=first_name.strip()[:150],
            last_name=last_name.strip()[:150],
        )
        check_password_policy(user=user, password=password, by_admin=False)
        user.password = make_password(password)
        user.password_changed_at = timezone.now()
        user.save()
        membership = invitation_accept(invitation=invitation, user=user)
    return user, membership
