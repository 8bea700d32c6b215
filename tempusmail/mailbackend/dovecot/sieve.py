"""The per-mailbox Sieve script: spam filing and the autoresponder."""

from datetime import UTC

from ..base import AccountState


def sieve_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sieve_script(state: AccountState) -> str:
    """Spam filing and the autoresponder; forwards and reject-all live in Postfix."""
    lines = ['require ["fileinto", "mailbox", "vacation", "date", "relational"];']
    if not state.spam_to_inbox:
        lines += [
            # rspamd's milter verdict for spam ("add header" and above); it removes an X-Spam
            # header the sender wrote.
            'if header :is "X-Spam" "Yes" {',
            '  fileinto :create "Junk";',
            "  stop;",
            "}",
        ]
    reply = state.autoresponder
    if reply is not None and state.active:
        tests = []
        for op, moment in (("ge", reply.start), ("le", reply.end)):
            if moment is not None:
                stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
                tests.append(f'currentdate :zone "+0000" :value "{op}" "iso8601" "{stamp}"')
        addresses = ", ".join(sieve_quote(a) for a in (state.address, *state.aliases))
        vacation = (
            f"vacation :days 1 :subject {sieve_quote(reply.subject or 'Auto-reply')} "
            f":addresses [{addresses}] {sieve_quote(reply.body)};"
        )
        if tests:
            lines += [f"if allof({', '.join(tests)}) {{", f"  {vacation}", "}"]
        else:
            lines.append(vacation)
    return "\n".join(lines) + "\n"
