"""The JSON API package. `authenticate(request)` (personal token or verified session) is the
helper other apps use for their own JSON endpoints."""


def authenticate(request, *, session: bool = True):
    from .auth import authenticate as _authenticate

    return _authenticate(request, session=session)
