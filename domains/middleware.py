"""Mail clients ask autoconfig.<domain> and autodiscover.<domain> of every customer domain:
names no ALLOWED_HOSTS can list. For the autoconfig paths only, such a Host is noted and
replaced by one Django accepts; those views build no URL from the Host."""

from django.conf import settings

AUTOCONFIG_PATHS = frozenset(
    {
        "/mail/config-v1.1.xml",
        "/.well-known/autoconfig/mail/config-v1.1.xml",
        "/autodiscover/autodiscover.xml",
        "/Autodiscover/Autodiscover.xml",
    }
)
HOST_PREFIXES = ("autoconfig.", "autodiscover.")
META_KEY = "tempusmail.autoconfig_domain"


class AutoconfigHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in AUTOCONFIG_PATHS:
            host = request.META.get("HTTP_HOST", "")[:260].rsplit(":", 1)[0].lower().rstrip(".")
            if host.startswith(HOST_PREFIXES):
                request.META[META_KEY] = host.partition(".")[2]
                accepted = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"]
                if accepted and "*" not in settings.ALLOWED_HOSTS:
                    request.META["HTTP_HOST"] = accepted[0]
        return self.get_response(request)
