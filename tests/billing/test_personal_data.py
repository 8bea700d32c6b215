"""Personal data (seed 003): postal address, birthdate and photo besides the external address
and phone. Users keep theirs in the portal ("My details"); admins in Master data. A photo is
checked by its content, limited in bytes and pixels, re-encoded without its metadata, and
served as an image to people of the same organization only."""

import base64
import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts import services as account_services
from accounts.models import User, UserPhoto
from accounts.personal import user_set_photo

DETAILS = reverse("portal:details")
UPLOAD = reverse("portal:details_photo")


def image(kind="PNG", size=(64, 48), mode="RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode != "1" else 1).save(out, kind, **save)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (41.0, 53.0, 24.0), 1: "N"}  # GPS
    return image("JPEG", exif=exif.tobytes())


def upload(client, data: bytes, name="me.png", content_type="image/png"):
    return client.post(UPLOAD, {"photo": SimpleUploadedFile(name, data, content_type)})


@pytest.fixture
def me(account_a, client):
    client.force_login(account_a.user)
    return client


def test_users_edit_my_details(me, account_a):
    response = me.post(
        DETAILS,
        {
            "job_title": "Buyer",
            "phone": "+39 06 555",
            "external_email": "alice@home.test",
            "postal_address": "Via Roma 1\n00100 Roma",
            "birthdate": "1990-05-17",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(pk=account_a.user_id)
    assert user.postal_address == "Via Roma 1\n00100 Roma"
    assert user.birthdate == date(1990, 5, 17)
    assert (user.job_title, user.phone, user.external_email) == (
        "Buyer",
        "+39 06 555",
        "alice@home.test",
    )


@pytest.mark.parametrize(
    ("birthdate", "message"),
    [
        ((date.today() + timedelta(days=1)).isoformat(), "between 1900 and today"),
        ("1850-01-01", "between 1900 and today"),
        ("31/31/1990", "Enter a valid date."),
    ],
)
def test_impossible_birthdates_are_refused(me, account_a, birthdate, message):
    response = me.post(DETAILS, {"birthdate": birthdate, "postal_address": "kept?"})
    assert response.status_code == 200 and message in response.content.decode()
    user = User.objects.get(pk=account_a.user_id)
    assert user.birthdate is None and user.postal_address == ""


def test_admins_edit_them_in_master_data(client_for, owner, viewer, account_a):
    url = reverse("accounts:settings", args=[account_a.pk, "master"])
    data = {
        "first_name": "Alice",
        "language": "en",
        "time_zone": "UTC",
        "postal_address": "Piazza Navona 2",
        "birthdate": "1985-02-03",
    }
    assert client_for(viewer).post(url, data).status_code == 403
    assert client_for(owner).post(url, data).status_code == 302
    user = User.objects.get(pk=account_a.user_id)
    assert user.postal_address == "Piazza Navona 2" and user.birthdate == date(1985, 2, 3)


def test_a_photo_is_re_encoded_without_its_metadata(me, account_a):
    original = jpeg_with_gps()
    assert b"SecretCam" in original
    assert upload(me, original, "me.jpg", "image/jpeg").status_code == 302
    stored = bytes(UserPhoto.objects.get(user=account_a.user).data)
    assert b"SecretCam" not in stored
    with Image.open(io.BytesIO(stored)) as photo:
        assert photo.format == "JPEG" and photo.size == (64, 48)
        assert not photo.getexif()
    assert User.objects.get(pk=account_a.user_id).photo_updated_at is not None


def test_a_big_photo_is_scaled_down(me, account_a):
    assert upload(me, image(size=(2000, 1000))).status_code == 302
    with Image.open(io.BytesIO(bytes(UserPhoto.objects.get().data))) as photo:
        assert photo.size == (256, 128)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "me.png", "not an image we can read"),
        (b"GIF89a" + b"\x00" * 20, "me.gif", "not an image we can read"),
        (image("BMP"), "me.png", "Upload a JPEG, PNG, GIF or WebP image."),
        (image(size=(10000, 5000), mode="1"), "huge.png", "has 50.0 megapixels; at most 25"),
        (b"\x89PNG" + b"0" * (5 * 1024 * 1024), "big.png", "larger than 5 MB"),
        (b"", "empty.png", "The submitted file is empty."),
    ],
)
def test_bad_photos_are_refused_and_nothing_changes(me, account_a, data, name, message):
    response = upload(me, data, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not UserPhoto.objects.exists()
    assert User.objects.get(pk=account_a.user_id).photo_updated_at is None


@pytest.fixture
def alice_photo(account_a):
    user_set_photo(user=account_a.user, data=image())
    return account_a


def test_the_photo_is_served_to_the_same_organization_only(
    client, alice_photo, domain_a, make_account, owner, viewer, admin_b, account_b
):
    url = reverse("accounts:photo", args=[alice_photo.pk])
    colleague = make_account(domain_a, "carol")
    for user in (owner, viewer, colleague.user, alice_photo.user):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, user
        assert response["Content-Type"] == "image/jpeg"
        assert response.content.startswith(b"\xff\xd8")
    for user in (admin_b, account_b.user):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.logout()
    assert client.get(url).status_code == 302  # to sign in


def test_a_colleague_hidden_from_the_address_book_keeps_the_photo_private(
    client, alice_photo, domain_a, make_account
):
    account_services.account_update(account=alice_photo, values={"in_address_book": False})
    client.force_login(make_account(domain_a, "carol").user)
    assert client.get(reverse("accounts:photo", args=[alice_photo.pk])).status_code == 404


def test_the_address_book_and_its_vcard_carry_the_photo(
    client, alice_photo, domain_a, make_account
):
    client.force_login(make_account(domain_a, "carol").user)
    page = client.get(reverse("portal:address_book")).content.decode()
    assert reverse("accounts:photo", args=[alice_photo.pk]) in page
    vcf = client.get(reverse("portal:address_book_vcf")).content.decode()
    unfolded = vcf.replace("\r\n ", "")
    card = unfolded[unfolded.index("UID:mailto:alice@a.example") :]
    card = card[: card.index("END:VCARD")]
    line = next(row for row in card.split("\r\n") if row.startswith("PHOTO:"))
    assert line.startswith("PHOTO:data:image/jpeg;base64,")
    data = base64.b64decode(line.split(",", 1)[1])
    assert data == bytes(UserPhoto.objects.get(user=alice_photo.user).data)
    assert all(len(row.encode()) <= 75 for row in vcf.split("\r\n"))  # folded


def test_users_remove_their_photo(me, alice_photo):
    assert me.post(reverse("portal:details_photo_remove")).status_code == 302
    assert not UserPhoto.objects.exists()
    assert me.get(reverse("accounts:photo", args=[alice_photo.pk])).status_code == 404


def test_admins_upload_a_photo_in_master_data(client_for, owner, viewer, account_a):
    url = reverse("accounts:photo_upload", args=[account_a.pk])
    photo = {"photo": SimpleUploadedFile("a.png", image(), "image/png")}
    assert client_for(viewer).post(url, photo).status_code == 403
    photo = {"photo": SimpleUploadedFile("a.png", image(), "image/png")}
    assert client_for(owner).post(url, photo).status_code == 302
    assert UserPhoto.objects.filter(user=account_a.user).exists()
