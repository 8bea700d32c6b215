"""Sign-in backend: Django's ModelBackend, with the signed-in user read together with the
mailbox. Every request of a signed-in person checks the mailbox's IP restrictions
(security.middleware), so reading both in one query saves one on every page."""

from django.contrib.auth.backends import ModelBackend

from .models import User


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        user = User._default_manager.select_related("mailbox").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
