"""factory-boy factories, one module per app."""

from tests.factories.elium import MembershipFactory, TenantFactory, UserFactory

__all__ = ["MembershipFactory", "TenantFactory", "UserFactory"]
