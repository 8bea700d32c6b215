"""The worker side of domains: push the desired state, record it applied."""

from tempusmail.mailbackend import DomainState, get_backend
from tempusmail.provisioning import mark_applied

from .models import Domain


def domain_push(*, domain_id: int) -> None:
    domain = Domain.objects.filter(pk=domain_id).first()
    if domain is None:
        return
    get_backend().apply_domain(
        DomainState(name=domain.name, active=True, version=domain.desired_version)
    )
    mark_applied(Domain, pk=domain.pk, version=domain.desired_version)


def domain_remove(*, name: str) -> None:
    if not Domain.objects.filter(name=name).exists():
        get_backend().remove_domain(name)
