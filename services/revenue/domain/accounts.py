"""The chart of accounts the journal posts to: fixed accounts, configurable codes."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass


class Account(enum.Enum):
    """The six accounts of DESIGN.md §3; the journal stores these, codes are applied on read."""

    CASH = "cash"
    RECEIVABLES = "receivables"
    UNBILLED_RECEIVABLE = "unbilled_receivable"
    DEFERRED_REVENUE = "deferred_revenue"
    TAX_PAYABLE = "tax_payable"
    REVENUE = "revenue"


NAMES = {
    Account.CASH: "Cash",
    Account.RECEIVABLES: "Accounts receivable",
    Account.UNBILLED_RECEIVABLE: "Unbilled receivable",
    Account.DEFERRED_REVENUE: "Deferred revenue",
    Account.TAX_PAYABLE: "Tax payable",
    Account.REVENUE: "Revenue",
}

DEFAULT_CODES = {
    Account.CASH: "1000",
    Account.RECEIVABLES: "1100",
    Account.UNBILLED_RECEIVABLE: "1200",
    Account.DEFERRED_REVENUE: "2100",
    Account.TAX_PAYABLE: "2200",
    Account.REVENUE: "4000",
}

_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,19}$")


@dataclass(frozen=True)
class ChartOfAccounts:
    """Account codes of the firm's general ledger, e.g. to match the ERP the journal feeds."""

    codes: Mapping[Account, str]

    @classmethod
    def default(cls) -> ChartOfAccounts:
        return cls(dict(DEFAULT_CODES))

    @classmethod
    def parse(cls, text: str) -> ChartOfAccounts:
        """Overrides of the defaults, e.g. "revenue=4100,cash=1010"; raises ValueError."""
        codes = dict(DEFAULT_CODES)
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, code = (s.strip() for s in item.partition("="))
            accounts = {a.value: a for a in Account}
            if not sep or name not in accounts:
                raise ValueError(
                    f"{item!r}: expected <account>=<code> with account one of "
                    + ", ".join(accounts)
                )
            if not _CODE.match(code):
                raise ValueError(f"{item!r}: a code is 1-20 letters, digits, '.' or '-'")
            codes[accounts[name]] = code
        if len(set(codes.values())) != len(codes):
            raise ValueError(f"two accounts share a code: {sorted(codes.values())}")
        return cls(codes)

    def code(self, account: Account) -> str:
        return self.codes[account]

    @staticmethod
    def name(account: Account) -> str:
        return NAMES[account]
