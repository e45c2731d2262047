"""What staff read on the admin pages: where the operations links are, the Frontrow branding, Korean texts."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

OPERATIONS = (
    "admin:concerts_salesdashboard_changelist",
    "admin:booking_checkin_door",
    "admin:concerts_datecancellation_changelist",
    "admin:concerts_dateexport_changelist",
    "django_rq:home",
)


def test_the_operations_links_open_the_main_column_of_the_admin_index(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    main = html.index('id="content-main"')
    operations = html.index('id="frontrow-operations"')
    apps = html.index('class="app-concerts')
    # In the main column, above the list of apps, not in the sidebar below "Recent actions".
    assert main < operations < apps
    assert operations < html.index('id="content-related"')
    box = html[operations : html.index("</div>", operations)]
    for name in OPERATIONS:
        assert f'href="{reverse(name)}"' in box


def test_the_admin_is_branded_frontrow_in_both_languages(staff_client, settings):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert re.search(r"<title>[^<]*Frontrow[^<]*</title>", html)
    assert "Frontrow 관리" in html
    assert "Django 사이트 관리" not in html
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "Frontrow admin" in html
    assert "Django administration" not in html
