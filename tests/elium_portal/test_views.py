import pytest

from elium_portal.models import Membership
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_landing_page_requires_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_landing_page_lists_only_the_users_tenants(client):
    mine = MembershipFactory(tenant__name="Mine", role=Membership.Role.ADMIN)
    TenantFactory(name="Someone else's")
    client.force_login(mine.user)

    response = client.get("/")

    content = response.content.decode()
    assert "Mine" in content
    assert "Someone else" not in content
    assert mine.tenant.url in content


def test_tenant_home_of_another_tenant_is_404(client):
    mine = MembershipFactory()
    other = TenantFactory()
    client.force_login(mine.user)

    assert client.get(f"/t/{mine.tenant.slug}/").status_code == 200
    assert client.get(f"/t/{other.slug}/").status_code == 404
    assert client.get("/t/does-not-exist/").status_code == 404


def test_tenant_url_uses_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://portal.example.com"
    tenant = TenantFactory.build(slug="acme")

    assert tenant.url == "https://portal.example.com/t/acme"
    assert tenant.scim_base_url == "https://portal.example.com/t/acme/scim/v2"


def test_static_files_are_served(client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200


def test_favicon_is_served(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[0][0].endswith("favicon.svg")


def test_the_staff_home_title_is_plain_text(client, django_user_model):
    staff = django_user_model.objects.create_user("staffer", password="x", is_staff=True)
    client.force_login(staff)

    html = client.get("/").content.decode()

    title = html.split("<title>")[1].split("</title>")[0]
    assert title.strip() == "Your platforms"
    assert "Open the Azure portal" in html
