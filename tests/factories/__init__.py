"""factory-boy factories, one module per app."""

from tests.factories.azure import (
    DirectoryFactory,
    DirectoryGroupFactory,
    DirectoryUserFactory,
    make_application,
)
from tests.factories.elium import MembershipFactory, TenantFactory, UserFactory

__all__ = [
    "DirectoryFactory",
    "DirectoryGroupFactory",
    "DirectoryUserFactory",
    "MembershipFactory",
    "TenantFactory",
    "UserFactory",
    "make_application",
]
