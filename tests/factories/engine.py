"""Factories for what the provisioning engine writes: a job's state, its cycles, the connector
data store and the provisioning logs. They let a test of the console or of a selector start from
"after some cycles" without running one (the engine's own tests run real cycles)."""

import datetime as dt
import uuid

import factory
from django.utils import timezone

from provisioning.models import (
    ConnectorObject,
    ProvisioningCycle,
    ProvisioningJobState,
    ProvisioningLogEntry,
)
from tests.factories.azure import ProvisioningJobFactory


class ProvisioningJobStateFactory(factory.django.DjangoModelFactory):
    """The job's state row (one per job: an existing one is updated, never duplicated)."""

    class Meta:
        model = ProvisioningJobState
        django_get_or_create = ("job",)

    job = factory.SubFactory(ProvisioningJobFactory)
    code = ProvisioningJobState.Code.ACTIVE


class ProvisioningCycleFactory(factory.django.DjangoModelFactory):
    """A finished initial cycle that succeeded; ``counts`` is ``{"Create.Success": 2, …}``."""

    class Meta:
        model = ProvisioningCycle

    job = factory.SubFactory(ProvisioningJobFactory)
    kind = ProvisioningCycle.Kind.INITIAL
    state = ProvisioningCycle.State.SUCCEEDED
    initiated_by = "system"
    started_at = factory.LazyFunction(timezone.now)
    ended_at = factory.LazyAttribute(lambda c: c.started_at + dt.timedelta(seconds=2))
    counts = factory.Dict({})
    total = factory.LazyAttribute(lambda c: sum(c.counts.values()))
    processed = factory.SelfAttribute("total")
    percent = 100


class ConnectorObjectFactory(factory.django.DjangoModelFactory):
    """A source user linked to an active target user."""

    class Meta:
        model = ConnectorObject

    job = factory.SubFactory(ProvisioningJobFactory)
    object_type = ConnectorObject.ObjectType.USER
    source_id = factory.LazyFunction(uuid.uuid4)
    display_name = factory.Sequence(lambda n: f"user{n}@contoso.com")
    target_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    target_state = ConnectorObject.TargetState.ACTIVE


class ProvisioningLogEntryFactory(factory.django.DjangoModelFactory):
    """A successful Create of a user in a cycle (pass ``cycle_id=cycle.cycle_id`` to tie it to
    a cycle, ``cycle_id=None`` for an on-demand run)."""

    class Meta:
        model = ProvisioningLogEntry

    job = factory.SubFactory(ProvisioningJobFactory)
    cycle_id = factory.LazyFunction(uuid.uuid4)
    activity_at = factory.LazyFunction(timezone.now)
    action = ProvisioningLogEntry.Action.CREATE
    status = ProvisioningLogEntry.Status.SUCCESS
    object_type = "user"
    source_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    source_display = factory.Sequence(lambda n: f"user{n}@contoso.com")
    target_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    target_display = factory.SelfAttribute("source_display")
    source_system = "Microsoft Entra ID"
    target_system = factory.LazyAttribute(lambda e: e.job.application.name)
    modified_properties = factory.List([])
    steps = factory.List([])
