"""The argon2 parameters chosen for mail logins (accounts/hashers.py, docs/benchmarks.md):
argon2id, 19 MiB, 2 passes, 1 lane, in the hash the panel stores and Dovecot verifies."""

from argon2 import PasswordHasher
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from tempusmail.mailbackend.dovecot import dovecot_password

PARAMETERS = "$argon2id$v=19$m=19456,t=2,p=1$"


def test_new_passwords_use_the_measured_parameters(account_a):
    stored = account_a.user.password
    assert stored.startswith("argon2" + PARAMETERS)
    assert dovecot_password(stored).startswith("{ARGON2ID}" + PARAMETERS)
    assert identify_hasher(make_password("Whatever-It-Is-9")).algorithm == "argon2"


def test_a_hash_with_django_defaults_still_verifies_and_is_due_for_an_upgrade():
    hasher = identify_hasher(make_password("x"))
    phc = PasswordHasher(memory_cost=102400, time_cost=2, parallelism=8).hash(
        "Old-Password-1", salt=b"saltsaltsalt"
    )
    old = "argon2" + phc
    assert check_password("Old-Password-1", old)
    assert hasher.must_update(old)
    assert not hasher.must_update(make_password("Old-Password-1"))
