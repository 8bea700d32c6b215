"""In-memory adapter for unit tests: keeps the pushed state in this process."""

from datetime import date

from .base import AccountState, BackendError, DomainState, GroupState, Usage, is_stale, removes


class MemoryBackend:
    def __init__(self) -> None:
        self.domains: dict[str, DomainState] = {}
        self.accounts: dict[str, AccountState] = {}
        self.usages: dict[str, Usage] = {}
        self.groups: dict[str, GroupState] = {}
        self.sent_days: dict[tuple[str, date], int] = {}
        self.calls: list[tuple[str, str]] = []

    def apply_domain(self, state: DomainState) -> None:
        self.calls.append(("apply_domain", state.name))
        self.domains[state.name] = state

    def remove_domain(self, name: str) -> None:
        self.calls.append(("remove_domain", name))
        self.domains.pop(name, None)

    def apply_account(self, state: AccountState) -> None:
        self.apply_accounts([state])

    def apply_accounts(self, states: list[AccountState]) -> list[AccountState]:
        self.calls.append(("apply_accounts", ",".join(s.address for s in states)))
        applied = []
        for state in states:
            held = self.accounts.get(state.address)
            if held is None or not is_stale(  # a stale push never wins
                held=(held.identity, held.version), pushed=(state.identity, state.version)
            ):
                self.accounts[state.address] = state
                applied.append(state)
        return applied

    def remove_account(self, address: str, *, identity: int = 0) -> None:
        self.calls.append(("remove_account", address))
        held = self.accounts.get(address)
        if held is not None and not removes(held_identity=held.identity, identity=identity):
            return  # a newer mailbox of the same address
        self.accounts.pop(address, None)
        self.usages.pop(address, None)

    def usage(self, addresses: list[str]) -> dict[str, Usage]:
        return {a: self.usages[a] for a in addresses if a in self.usages}

    def sent_per_day(self, domains: list[str], days: list[date]) -> dict[tuple[str, date], int]:
        return {
            (d, day): self.sent_days[d, day]
            for d in domains
            for day in days
            if (d, day) in self.sent_days
        }

    def open_mailbox(self, address: str):
        raise BackendError("the memory backend stores no mail")

    def apply_group(self, state: GroupState) -> None:
        self.calls.append(("apply_group", state.address))
        held = self.groups.get(state.address)
        if held is None or held.version <= state.version:
            self.groups[state.address] = state

    def remove_group(self, address: str) -> None:
        self.calls.append(("remove_group", address))
        self.groups.pop(address, None)

    def reset(self) -> None:
        self.__init__()
