"""Sizes follow the user's language: an Italian admin reads "0 byte", not Django's "0 bytes"."""

from django.urls import reverse

from accounts.models import User


def test_an_empty_mailbox_reads_0_byte_in_italian(client_for, owner, domain_a, account_a):
    User.objects.filter(pk=owner.pk).update(language="it")
    html = client_for(owner).get(reverse("accounts:list", args=[domain_a.pk])).content.decode()
    row = html.split(f'id="account-{account_a.pk}"')[1].split("</tr>")[0]
    assert "0\xa0byte" in row and "bytes" not in row
    assert "1,0\xa0GB" in row  # the decimal comma of the user's locale
