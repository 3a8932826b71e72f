"""What the benchmarks share in ``bench.common``.

``insert_series`` fills tables for the console benchmark and the scale test. With server-side
binding psycopg sends a Python int small enough as a ``smallint``, and
``generate_series(smallint, smallint)`` matches no single function: the console benchmark's
1,000 groups failed so. Small counts are written like large ones.

``delete_in_batches`` clears what an earlier benchmark left in a reused database (``make
bench`` runs them all on one). ``QuerySet.delete()`` names every collected row in the
statements that cascade from them, over PostgreSQL's 65,535 parameters at the engine
benchmark's 100,000 users: ``bench_engine_latency`` failed so after ``bench_engine``."""

import pytest

from bench.common import delete_in_batches, insert_series
from provisioning.models import DirectoryGroupMember, DirectoryUser
from tests.factories import DirectoryFactory, DirectoryGroupFactory

pytestmark = pytest.mark.django_db

MORE_THAN_ONE_STATEMENT_TAKES = 70_000


def _users(directory, count: int, *, start: int = 1) -> None:
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


@pytest.mark.parametrize(("count", "start"), [(3, 1), (1_000, 1), (2, 40_000)])
def test_a_series_of_any_size_is_written(count, start):
    directory = DirectoryFactory()
    _users(directory, count, start=start)
    names = set(
        DirectoryUser.objects.filter(directory=directory).values_list("display_name", flat=True)
    )
    assert names == {f"Person {n}" for n in range(start, start + count)}


def test_more_rows_than_one_statement_takes_are_deleted_with_their_cascades():
    directory, kept = DirectoryFactory(), DirectoryFactory()
    _users(directory, MORE_THAN_ONE_STATEMENT_TAKES)
    _users(kept, 3)
    group = DirectoryGroupFactory(directory=directory)
    member = DirectoryUser.objects.filter(directory=directory).first()
    DirectoryGroupMember.objects.create(group=group, member_user=member)

    deleted = delete_in_batches(DirectoryUser.objects.filter(directory=directory))

    assert deleted == MORE_THAN_ONE_STATEMENT_TAKES
    assert not DirectoryUser.objects.filter(directory=directory).exists()
    assert not DirectoryGroupMember.objects.filter(group=group).exists()  # the cascade ran
    assert DirectoryUser.objects.filter(directory=kept).count() == 3


def test_a_batch_smaller_than_the_rows_still_deletes_them_all():
    directory = DirectoryFactory()
    _users(directory, 7)

    assert delete_in_batches(DirectoryUser.objects.filter(directory=directory), size=3) == 7
    assert not DirectoryUser.objects.filter(directory=directory).exists()
