"""The project's URLs plus one view that fails, to see the headers of a server error."""

from django.urls import include, path


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken), path("", include("tempusmail.urls"))]
