-- docker-compose: the mail directory lives in its own database, owned by the mail system.
CREATE DATABASE maildir OWNER tempusmail;
