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
    def with_codes(cls, overrides: Mapping[str, str]) -> ChartOfAccounts:
        """The defaults with codes given by account name (e.g. revenue -> 4100); raises
        ValueError for an unknown account, a malformed code, or two accounts on one code."""
        codes = dict(DEFAULT_CODES)
        accounts = {a.value: a for a in Account}
        for name, code in overrides.items():
            if name not in accounts:
                raise ValueError(f"{name!r} is not an account; they are " + ", ".join(accounts))
            if not _CODE.match(code):
                raise ValueError(f"{name}={code!r}: a code is 1-20 letters, digits, '.' or '-'")
            codes[accounts[name]] = code
        if len(set(codes.values())) != len(codes):
            raise ValueError(f"two accounts share a code: {sorted(codes.values())}")
        return cls(codes)

    def code(self, account: Account) -> str:
        return self.codes[account]

    @staticmethod
    def name(account: Account) -> str:
        return NAMES[account]
