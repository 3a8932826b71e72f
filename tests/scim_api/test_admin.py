"""The Django admin for support staff over SCIM resources: they look, they never delete."""

import pytest

from scim_api.models import ScimUser
from tests.factories import azure_user

pytestmark = pytest.mark.django_db


def test_support_staff_cannot_delete_scim_resources_in_the_admin(scim, admin_client):
    user = scim.post("/Users", azure_user()).json()

    response = admin_client.post(f"/admin/scim_api/scimuser/{user['id']}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert ScimUser.objects.filter(id=user["id"]).exists()
