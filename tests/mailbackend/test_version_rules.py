"""The two rules every adapter applies to a push (tempusmail/mailbackend/base.py): a state older
than the one held is ignored, (row identity, version) compared; a removal takes a mailbox only
for the row it belongs to. Identity 0 is a row written before identities were carried."""

import pytest

from tempusmail.mailbackend.base import is_stale, removes


@pytest.mark.parametrize(
    ("held", "pushed", "stale"),
    [
        ((3, 5), (3, 4), True),  # the same row, an older version
        ((3, 5), (3, 5), False),  # the same version again: a retry repairs
        ((3, 5), (3, 6), False),
        ((3, 1), (2, 9), True),  # a deleted row's late push, whatever its version
        ((2, 9), (3, 1), False),  # the row created again starts at 1 and wins
        ((0, 5), (7, 4), True),  # an identity unknown on one side: versions decide
        ((0, 5), (7, 5), False),
        ((7, 5), (0, 4), True),
        ((7, 5), (0, 6), False),
    ],
)
def test_a_push_is_stale_only_when_older_than_what_is_held(held, pushed, stale):
    assert is_stale(held=held, pushed=pushed) is stale


@pytest.mark.parametrize(
    ("held_identity", "identity", "taken"),
    [
        (3, 3, True),
        (3, 2, False),  # the mailbox of the row created again is not the old row's to remove
        (2, 3, False),
        (0, 3, True),  # identities unknown: the address decides
        (3, 0, True),
        (0, 0, True),
    ],
)
def test_a_removal_takes_only_its_own_rows_mailbox(held_identity, identity, taken):
    assert removes(held_identity=held_identity, identity=identity) is taken
