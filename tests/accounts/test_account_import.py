"""CSV import and export of accounts (issue 15, item 2): upload, a dry run that lists every
row's errors (line, column, message) and changes nothing, the import as a job, a re-import of
the same file that changes nothing, streamed exports that neutralize formulas."""

import csv
import io

import pytest
from argon2 import PasswordHasher
from django.contrib.auth.hashers import check_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Alias, BulkJob, BulkJobItem, EmailAccount
from security.models import AuditEvent
from tests.conftest import make_domain

pytestmark = pytest.mark.django_db

PHC = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Nebbia-Collina-77!")
# Parameters only (the hash is never computed): 4 GiB and 2^32 - 1 passes.
COSTLY = "$argon2id$v=19$m=4194304,t=4294967295,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
GOOD = (
    "address,first_name,last_name,password,password_hash,storage_mb,services,aliases,forwards\n"
    "anna,Anna,Rossi,Tramonto-Lago-42!,,5120,imap smtp,info@a.example,\n"
    f'marco@a.example,Márco,Bïanchi,,"{PHC}",,,,marco@elsewhere.example\n'
    f'zoe,"=HYPERLINK(""http://evil"")",Ünïcode,,"{{ARGON2ID}}{PHC}",1024,imap,,\n'
)


@pytest.fixture
def roomy(plan):
    plan.max_accounts = 50
    plan.save()
    return plan


def upload(client, domain, text: str | bytes, name: str = "accounts.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse("accounts:import", args=[domain.pk]),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def preview_of(client, domain, text):
    response = upload(client, domain, text)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = BulkJob.objects.latest("pk")
    assert response["Location"] == reverse("accounts:job", args=[domain.pk, job.pk])
    return job, client.get(response["Location"]).content.decode()


def start(client, domain, job):
    return client.post(reverse("accounts:import_start", args=[domain.pk, job.pk]))


def errors_of(job) -> set[tuple[int, str, str]]:
    return {
        (item.line, e["column"], e["message"])
        for item in BulkJobItem.objects.filter(job=job)
        for e in item.errors
    }


def test_preview_changes_nothing_then_the_import_creates_the_accounts(
    client_for, operator, domain_a, roomy, run_tasks
):
    client = client_for(operator)
    job, page = preview_of(client, domain_a, GOOD)
    assert "3 to create" in page and "0 with errors" in page and "Import 3 rows" in page
    assert not EmailAccount.objects.exists() and job.state == "preview"

    with run_tasks():
        response = start(client, domain_a, job)
    assert response["Location"].endswith(f"?job={job.pk}")
    job.refresh_from_db()
    assert (job.state, job.total, job.done, job.failed) == ("done", 3, 3, 0)
    anna = EmailAccount.objects.select_related("user").get(address="anna@a.example")
    assert anna.quota_mb == 5120 and anna.services == ["imap", "smtp"]
    assert check_password("Tramonto-Lago-42!", anna.user.password)
    assert list(anna.aliases.values_list("address", flat=True)) == ["info@a.example"]
    marco = EmailAccount.objects.select_related("user").get(address="marco@a.example")
    assert marco.user.password == "argon2" + PHC
    assert check_password("Nebbia-Collina-77!", marco.user.password)
    assert marco.forward_to == ["marco@elsewhere.example"]
    assert (marco.first_name, marco.last_name) == ("Márco", "Bïanchi")
    zoe = EmailAccount.objects.select_related("user").get(address="zoe@a.example")
    assert zoe.first_name == '=HYPERLINK("http://evil")'
    assert zoe.user.password == "argon2" + PHC
    # The plain password is not kept once its row ran.
    assert all(not item.data.get("password") for item in BulkJobItem.objects.filter(job=job))
    assert AuditEvent.objects.filter(action="account.create", actor=operator).count() == 3


def test_reimporting_the_same_file_changes_nothing(client_for, owner, domain_a, roomy, run_tasks):
    client = client_for(owner)
    job, _page = preview_of(client, domain_a, GOOD)
    with run_tasks():
        start(client, domain_a, job)
    before = list(EmailAccount.objects.order_by("pk").values_list("pk", "desired_version"))
    events = AuditEvent.objects.exclude(action__startswith="bulk.").count()

    again, page = preview_of(client, domain_a, GOOD)
    assert "3 unchanged" in page and "0 to create" in page and "0 to update" in page
    with run_tasks():
        start(client, domain_a, again)
    again.refresh_from_db()
    assert (again.done, again.failed) == (3, 0)
    assert set(BulkJobItem.objects.filter(job=again).values_list("state", flat=True)) == {
        "unchanged"
    }
    after = list(EmailAccount.objects.order_by("pk").values_list("pk", "desired_version"))
    assert after == before
    assert AuditEvent.objects.exclude(action__startswith="bulk.").count() == events


def test_a_changed_row_updates_only_what_differs(client_for, owner, domain_a, roomy, run_tasks):
    client = client_for(owner)
    job, _ = preview_of(client, domain_a, GOOD)
    with run_tasks():
        start(client, domain_a, job)
    changed = GOOD.replace("anna,Anna,Rossi,Tramonto-Lago-42!,,5120", "anna,Anna,Rossi,,,10240")
    changed = changed.replace("info@a.example", "info@a.example sales@a.example")
    job, page = preview_of(client, domain_a, changed)
    assert "1 to update" in page and "2 unchanged" in page
    with run_tasks():
        start(client, domain_a, job)
    anna = EmailAccount.objects.select_related("user").get(address="anna@a.example")
    assert anna.quota_mb == 10240
    assert sorted(anna.aliases.values_list("address", flat=True)) == [
        "info@a.example",
        "sales@a.example",
    ]
    assert check_password("Tramonto-Lago-42!", anna.user.password)  # empty: kept


def test_every_kind_of_row_error_is_listed_with_line_and_column(
    client_for, owner, domain_a, org_a, org_b, roomy, make_account, domain_b
):
    make_domain(org_a, "other-a.example")
    taken = make_account(domain_a, "taken")
    services.alias_add(account=taken, address="busy@a.example")
    header = (
        "address,first_name,last_name,password,password_hash,storage_mb,services,aliases,forwards"
    )
    rows = [
        "bad address!,,,Tramonto-Lago-42!,,,,,",  # 2
        "x@b.example,,,Tramonto-Lago-42!,,,,,",  # 3: another domain
        "busy,,,Tramonto-Lago-42!,,,,,",  # 4: an alias holds it
        "ok1,,,Tramonto-Lago-42!,,,,,",  # 5: fine
        "ok1,,,Tramonto-Lago-42!,,,,,",  # 6: listed twice
        f'both,,,Tramonto-Lago-42!,"{PHC}",,,,',  # 7
        "badhash,,,,$2b$12$notargon,,,,",  # 8
        "weak,,,123,,,,,",  # 9
        "nopass,,,,,,,,",  # 10
        "storage1,,,Tramonto-Lago-42!,,777,,,",  # 11: not offered
        "storage2,,,Tramonto-Lago-42!,,lots,,,",  # 12
        "svc,,,Tramonto-Lago-42!,,,imap telepathy,,",  # 13
        "al1,,,Tramonto-Lago-42!,,,,x@b.example,",  # 14: not our domain
        "al2,,,Tramonto-Lago-42!,,,,busy@a.example,",  # 15: taken
        "fw,,,Tramonto-Lago-42!,,,,,not-an-address",  # 16
        "extra,,,Tramonto-Lago-42!,,,,,,surplus",  # 17
        "long," + "n" * 3000 + ",,Tramonto-Lago-42!,,,,,",  # 18
        "self,,,Tramonto-Lago-42!,,,,,self@a.example",  # 19
        f'costly,,,,"{COSTLY}",,,,',  # 20: would stall every mail login
    ]
    client = client_for(owner)
    job, page = preview_of(client, domain_a, "\n".join([header, *rows]) + "\n")
    found = errors_of(job)
    expected_columns = {
        2: "address",
        3: "address",
        4: "address",
        6: "address",
        7: "password",
        8: "password_hash",
        9: "password",
        10: "password",
        11: "storage_mb",
        12: "storage_mb",
        13: "services",
        14: "aliases",
        15: "aliases",
        16: "forwards",
        17: "",
        18: "first_name",
        19: "forwards",
        20: "password_hash",
    }
    by_line = {}
    for line, column, message in found:
        by_line.setdefault(line, []).append((column, message))
    assert set(by_line) == set(expected_columns), by_line
    for line, column in expected_columns.items():
        assert column in [c for c, _m in by_line[line]], (line, by_line[line])
    messages = {m for _l, _c, m in found}
    assert "busy@a.example is already in use." in messages
    assert "The address must be on a.example." in messages
    assert "Give a password or a password hash, not both." in messages
    assert "A new account needs a password or a password hash." in messages
    assert "This row has more cells than the header has columns." in messages
    assert "b.example is not one of your domains." in messages
    # The preview shows them all, and the counts.
    assert any(m.startswith("This hash costs too much to check") for m in messages)
    assert "1 to create" in page and "18 with errors" in page
    for line in expected_columns:
        assert f'data-line="{line}"' in page
    assert EmailAccount.objects.count() == 1


def test_the_plan_limit_counts_the_rows_to_create(client_for, owner, domain_a, plan):
    plan.max_accounts = 2
    plan.save()
    text = "address,password\n" + "".join(f"u{n},Tramonto-Lago-42!\n" for n in range(4))
    job, page = preview_of(client_for(owner), domain_a, text)
    assert "2 to create" in page and "2 with errors" in page
    assert (4, "address", "Your plan allows at most 2 email accounts.") in errors_of(job)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"address,password\nanna,\xff\xfe\n", "The file is not UTF-8 text"),
        (b"address,colour\nanna,red\n", "Unknown column colour"),
        (b"first_name\nAnna\n", "The column address is missing."),
        (b"", "file is empty."),
        (b"address\n", "The file has no rows below its header."),
        (b"address\nan\x00na\n", "NUL characters"),
        (b'address\n"anna\n', "not valid CSV"),
    ],
)
def test_a_broken_file_says_what_is_wrong(client_for, owner, domain_a, data, message):
    response = upload(client_for(owner), domain_a, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BulkJob.objects.exists()


def test_size_and_row_limits(client_for, owner, domain_a, settings):
    settings.ACCOUNT_IMPORT_MAX_BYTES = 1000
    settings.ACCOUNT_IMPORT_MAX_ROWS = 5
    client = client_for(owner)
    response = upload(client, domain_a, "address\n" + "x" * 2000 + "\n")
    assert "The file is larger than" in response.content.decode()
    response = upload(client, domain_a, "address\n" + "".join(f"u{n}\n" for n in range(6)))
    assert "The file has more than 5 rows: split it." in response.content.decode()
    # A body far beyond the limit is refused before it is parsed.
    response = upload(client, domain_a, "address\n" + "x" * 200_000 + "\n")
    assert response.status_code == 400 and "larger than" in response.content.decode()
    assert not BulkJob.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 302), ("operator", 302), ("viewer", 403), ("admin_b", 404)]
)
def test_import_role_matrix(request, client_for, domain_a, roomy, who, status, run_tasks):
    client = client_for(request.getfixturevalue(who))
    assert upload(client, domain_a, GOOD).status_code == status
    if status != 302:
        page = client.get(reverse("accounts:import", args=[domain_a.pk]))
        assert page.status_code == (200 if who == "viewer" else 404)
        assert not BulkJob.objects.exists()


def test_only_the_uploader_can_start_a_previewed_import(
    client_for, owner, operator, viewer, admin_b, domain_a, roomy, run_tasks
):
    """The rows were checked with the uploader's rights; another member starting them would
    run them with those rights (an operator pressing Import on an owner's file)."""
    job, _ = preview_of(client_for(owner), domain_a, GOOD)
    page = client_for(operator).get(reverse("accounts:job", args=[domain_a.pk, job.pk]))
    assert "Only the person who uploaded this file can import it." in page.content.decode()
    assert "Import 3 rows" not in page.content.decode()
    with run_tasks():
        assert start(client_for(operator), domain_a, job).status_code == 403
        assert start(client_for(viewer), domain_a, job).status_code == 403
        assert start(client_for(admin_b), domain_a, job).status_code == 404
    job.refresh_from_db()
    assert job.state == "preview" and not EmailAccount.objects.exists()


def test_a_row_that_became_invalid_since_the_preview_fails_alone(
    client_for, owner, domain_a, roomy, make_account, run_tasks
):
    client = client_for(owner)
    job, _ = preview_of(client, domain_a, GOOD)
    make_account(domain_a, "anna")  # somebody created it meanwhile, differently
    EmailAccount.objects.filter(address="anna@a.example").update(is_active=False)
    with run_tasks():
        start(client, domain_a, job)
    job.refresh_from_db()
    assert (job.done, job.failed) == (2, 1)
    page = client.get(reverse("accounts:job", args=[domain_a.pk, job.pk])).content.decode()
    assert "anna@a.example" in page and "reactivate it" in page


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_exports_stream_neutralize_formulas_and_round_trip(
    client_for, owner, viewer, admin_b, domain_a, roomy, run_tasks
):
    client = client_for(owner)
    job, _ = preview_of(client, domain_a, GOOD)
    with run_tasks():
        start(client, domain_a, job)
    readonly = Client()
    readonly.force_login(viewer)
    response = readonly.get(reverse("accounts:export", args=[domain_a.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="accounts-a.example.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][0] == "address" and len(rows) == 4
    zoe = next(r for r in rows if r[0] == "zoe@a.example")
    assert zoe[1] == '\'=HYPERLINK("http://evil")' and zoe[2] == "Ünïcode"
    assert next(r for r in rows if r[0] == "anna@a.example")[7] == "info@a.example"
    aliases = read_csv(client.get(reverse("accounts:export_aliases", args=[domain_a.pk])))
    assert aliases == [["alias", "account"], ["info@a.example", "anna@a.example"]]

    # The export, imported again, changes nothing (the apostrophe comes off).
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    again, page = preview_of(client, domain_a, out.getvalue())
    assert "3 unchanged" in page and "0 with errors" in page
    assert (
        client_for(admin_b).get(reverse("accounts:export", args=[domain_a.pk])).status_code == 404
    )
    assert Alias.objects.count() == 1


def test_previews_not_imported_are_forgotten_after_a_day(client_for, owner, domain_a, roomy):
    from datetime import timedelta

    from accounts import bulk

    job, _ = preview_of(client_for(owner), domain_a, GOOD)
    assert bulk.forget_previews() == 0
    BulkJob.objects.filter(pk=job.pk).update(created_at=job.created_at - timedelta(hours=25))
    assert bulk.forget_previews() > 0
    assert not BulkJob.objects.exists() and not BulkJobItem.objects.exists()


def test_a_refused_row_keeps_no_password(client_for, owner, domain_a, roomy):
    job, _ = preview_of(
        client_for(owner), domain_a, "address,password\nbad address!,Tramonto-Lago-42!\n"
    )
    assert BulkJobItem.objects.get(job=job).data["password"] == ""


def test_a_hash_as_costly_as_djangos_default_is_taken(client_for, owner, domain_a, roomy):
    django_default = PasswordHasher(time_cost=2, memory_cost=102400, parallelism=8).hash("x" * 12)
    job, page = preview_of(
        client_for(owner), domain_a, f'address,password_hash\nanna,"{django_default}"\n'
    )
    assert "1 to create" in page and not errors_of(job)


def test_a_plain_password_is_unchanged_only_when_an_import_set_it(
    client_for, owner, domain_a, roomy, make_account, run_tasks
):
    """The dry run never checks a password against the account's: a correct guess at a
    password the import did not set reads "to update", like a wrong one."""
    from tests.conftest import PASSWORD

    client = client_for(owner)
    make_account(domain_a, "carla")  # its password is PASSWORD, set in the panel
    for guess in (PASSWORD, "Wrong-Guess-4242!"):
        _job, page = preview_of(client, domain_a, f"address,password\ncarla,{guess}\n")
        assert "1 to update" in page and "0 unchanged" in page

    # carla's password is set by the import; dora is created by it (the batched creation).
    text = "address,password\ncarla,Tramonto-Lago-42!\ndora,Nebbia-Collina-77!\n"
    job, _ = preview_of(client, domain_a, text)
    with run_tasks():
        start(client, domain_a, job)
    carla = EmailAccount.objects.select_related("user").get(address="carla@a.example")
    assert check_password("Tramonto-Lago-42!", carla.user.password)
    _job, page = preview_of(client, domain_a, text)
    assert "2 unchanged" in page
    # Changed since (here by the person, in the portal): the file's password is set again.
    services.account_set_password(account=carla, password="Mio-Segreto-Nuovo-7!")
    _job, page = preview_of(client, domain_a, text)
    assert "1 to update" in page and "1 unchanged" in page


def test_an_operator_cannot_set_a_privileged_mailboxs_password_by_file(
    client_for, operator, org_a, domain_a, roomy, make_account, run_tasks
):
    from domains.models import Membership, Role

    boss = make_account(domain_a, "boss")
    Membership.objects.create(user=boss.user, organization=org_a, role=Role.OWNER)
    before = boss.user.password
    client = client_for(operator)
    job, page = preview_of(
        client,
        domain_a,
        f'address,password,password_hash\nboss,Tramonto-Lago-42!,\nboss2,,"{PHC}"\n',
    )
    assert "1 to create" in page and "1 with errors" in page
    ((line, column, message),) = errors_of(job)
    assert (line, column) == (2, "password") and "only that person" in message
    with run_tasks():
        start(client, domain_a, job)
    boss.user.refresh_from_db()
    assert boss.user.password == before


def test_an_imported_password_meets_the_accounts_reuse_rule(
    client_for, owner, domain_a, roomy, make_account, run_tasks
):
    anna = make_account(domain_a, "anna", block_password_reuse=True)
    services.account_set_password(account=anna, password="Tramonto-Lago-42!")
    services.account_set_password(account=anna, password="Mio-Segreto-Nuovo-7!")
    client = client_for(owner)
    job, _ = preview_of(client, domain_a, "address,password\nanna,Tramonto-Lago-42!\n")
    with run_tasks():
        start(client, domain_a, job)
    job.refresh_from_db()
    assert (job.done, job.failed) == (0, 1)
    ((_line, _column, message),) = errors_of(job)
    assert "not used before" in message
    anna.user.refresh_from_db()
    assert check_password("Mio-Segreto-Nuovo-7!", anna.user.password)


def test_an_address_typed_in_unicode_or_capitals_finds_what_holds_it(
    client_for, owner, org_a, domain_a, roomy, make_account
):
    from accounts.models import User

    books = make_domain(org_a, "bücher.example")
    make_account(books, "anna")  # Anna Test
    client = client_for(owner)
    job, page = preview_of(client, books, "address,first_name\nAnna@Bücher.example,Anna\n")
    assert "1 unchanged" in page and "0 to create" in page and not errors_of(job)

    User.objects.create_user("Sales@a.example", "x")  # a panel login, typed with a capital
    job, page = preview_of(client, domain_a, "address,password\nsales,Tramonto-Lago-42!\n")
    assert errors_of(job) == {(2, "address", "sales@a.example is already in use.")}
