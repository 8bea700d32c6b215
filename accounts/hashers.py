"""The mailbox password hasher: argon2id with parameters chosen for IMAP/POP3/SMTP logins.

Dovecot verifies the same PHC string at every mail-client login (and clients reconnect
often), so the cost is paid far more often than a panel login. Measured on this platform
(docs/benchmarks.md, "Argon2 parameters"): Django's default (m=100 MiB, t=2, p=8) costs
~155 ms and 100 MiB per IMAP login, as Dovecot's libsodium verifies the lanes one after the
other; OWASP's m=19 MiB, t=2, p=1 costs ~50 ms and 19 MiB. The algorithm name stays "argon2",
so older hashes still verify and are upgraded at the next panel login.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class MailArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19456  # KiB
    parallelism = 1
