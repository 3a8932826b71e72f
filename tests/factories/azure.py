"""Factories for the Azure side (emulated directory and enterprise apps)."""

import factory

from provisioning.models import Directory, DirectoryGroup, DirectoryUser
from provisioning.services.applications import enterprise_application_create


class DirectoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Directory

    name = factory.Sequence(lambda n: f"Contoso {n}")
    domain = factory.Sequence(lambda n: f"contoso{n}.onmicrosoft.com")


class DirectoryUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DirectoryUser

    directory = factory.SubFactory(DirectoryFactory)
    given_name = factory.Sequence(lambda n: f"Given{n}")
    surname = factory.Sequence(lambda n: f"Surname{n}")
    display_name = factory.LazyAttribute(lambda u: f"{u.given_name} {u.surname}")
    user_principal_name = factory.LazyAttribute(
        lambda u: f"{u.given_name.lower()}.{u.surname.lower()}@{u.directory.domain}"
    )
    mail = factory.LazyAttribute(lambda u: u.user_principal_name)
    mail_nickname = factory.LazyAttribute(lambda u: u.user_principal_name.split("@")[0])


class DirectoryGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DirectoryGroup

    directory = factory.SubFactory(DirectoryFactory)
    display_name = factory.Sequence(lambda n: f"Group {n}")
    mail_nickname = factory.Sequence(lambda n: f"group{n}")


def make_application(*, directory=None, template="elium", name=""):
    """An app added from the gallery, with its job and default mappings."""
    directory = directory or DirectoryFactory()
    return enterprise_application_create(directory=directory, template=template, name=name)
