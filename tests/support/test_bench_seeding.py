"""``bench.common.insert_series`` fills tables for the console benchmark and the scale test.
With server-side binding psycopg sends a Python int small enough as a ``smallint``, and
``generate_series(smallint, smallint)`` matches no single function: the console benchmark's
1,000 groups failed so. Small counts are written like large ones."""

import pytest

from bench.common import insert_series
from provisioning.models import DirectoryUser
from tests.factories import DirectoryFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("count", "start"), [(3, 1), (1_000, 1), (2, 40_000)])
def test_a_series_of_any_size_is_written(count, start):
    directory = DirectoryFactory()
    insert_series(
        DirectoryUser,
        count,
        {
            "directory": str(directory.pk),
            "object_id": "gen_random_uuid()",
            "user_principal_name": f"'user' || n || '@{directory.domain}'",
            "display_name": "'Person ' || n",
        },
        start=start,
    )
    names = set(
        DirectoryUser.objects.filter(directory=directory).values_list("display_name", flat=True)
    )
    assert names == {f"Person {n}" for n in range(start, start + count)}
