"""Factories for the Elium side's own models: tenants, people, SCIM tokens and the security log."""

import factory
from django.contrib.auth import get_user_model

from elium_portal import clock
from elium_portal.models import (
    AuditEvent,
    Membership,
    ScimToken,
    ScimTokenAddress,
    Tenant,
    TokenFormSubmission,
)
from elium_portal.services.tokens import scim_token_issue

PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.MEMBER


class ScimTokenFactory(factory.django.DjangoModelFactory):
    """A usable token, issued by ``scim_token_issue`` as the console does (it is audited).

    Only a digest is stored, so the plaintext exists nowhere but on the returned instance:
    ``ScimTokenFactory(tenant=tenant).plaintext`` is what a client sends as its bearer token.
    ``actor``, ``label``, ``expires_at``, ``replace`` and ``ip`` are passed to the service.
    """

    class Meta:
        model = ScimToken

    tenant = factory.SubFactory(TenantFactory)
    actor = None
    label = None
    expires_at = None
    replace = None
    ip = None

    @classmethod
    def _create(cls, model_class, *, tenant, **options):
        issued = scim_token_issue(tenant=tenant, **options)
        token = issued.token
        token.plaintext = issued.plaintext
        return token

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("A token is only usable once issued: use ScimTokenFactory(), not .build().")


class ScimTokenAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimTokenAddress

    token = factory.SubFactory(ScimTokenFactory)
    ip = factory.Sequence(lambda n: f"192.0.2.{n % 254 + 1}")
    first_seen_at = factory.LazyFunction(lambda: clock.now())


class AuditEventFactory(factory.django.DjangoModelFactory):
    """A security-log row written directly; the services write theirs with
    ``audit_event_record`` in the transaction of the change."""

    class Meta:
        model = AuditEvent

    tenant = factory.SubFactory(TenantFactory)
    action = AuditEvent.Action.TOKEN_GENERATED
    actor = None
    actor_label = factory.LazyAttribute(lambda e: e.actor.get_username() if e.actor else "system")
    ip = None
    details = factory.Dict({})
    created_at = factory.LazyFunction(lambda: clock.now())


class TokenFormSubmissionFactory(factory.django.DjangoModelFactory):
    """A Generate/Regenerate form's one-time id that has already issued a token."""

    class Meta:
        model = TokenFormSubmission

    tenant = factory.SubFactory(TenantFactory)
    submission_id = factory.Sequence(lambda n: f"submission-{n}")
    created_at = factory.LazyFunction(lambda: clock.now())
