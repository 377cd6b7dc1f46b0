"""Three engagements over three months, every number worked out by hand in the comments.

Each month's events are delivered in date order; at each month end the position and the
trial balance must be exactly what the arithmetic in the comments says.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from mesh.money import Money
from services.revenue import handlers
from services.revenue.domain.accounts import Account
from services.revenue.domain.facts import BillingModel
from services.revenue.domain.journal import EntryKind
from services.revenue.domain.periods import Period
from tests.unit.revenue_fakes import Close, Delivery, Engagement, FakeRevenueBooks, Step, run

D = dt.date


def deliver(*events: tuple[str, object]) -> list[Step]:
    return [Delivery(subject, message) for subject, message in events]  # type: ignore[arg-type]


async def month_end(
    books: FakeRevenueBooks,
    e: Engagement,
    *,
    recognized: str,
    billed: str,
    unbilled: str,
    deferred: str,
    cost: str,
    margin: str,
    margin_percent: str | None,
    percent_complete: str | None,
) -> None:
    p = await handlers.get_position(books, e.id)
    got = {
        "recognized": p.recognized,
        "billed": p.billed,
        "unbilled": p.unbilled_receivable,
        "deferred": p.deferred_revenue,
        "cost": p.cost,
        "margin": p.margin,
    }
    expected = {
        "recognized": recognized,
        "billed": billed,
        "unbilled": unbilled,
        "deferred": deferred,
        "cost": cost,
        "margin": margin,
    }
    assert got == {k: Money.of(v, e.currency) for k, v in expected.items()}
    assert p.margin_percent == (Decimal(margin_percent) if margin_percent else None)
    assert p.percent_complete == (Decimal(percent_complete) if percent_complete else None)


async def balances(books: FakeRevenueBooks, entity: str, as_of: dt.date) -> dict[Account, Decimal]:
    """Non-zero account balances (debit positive); the trial balance must sum to zero."""
    [book] = await handlers.trial_balance(books, entity, as_of)
    assert book.total_debit == book.total_credit
    return {a.account: a.balance.amount for a in book.accounts if a.balance.amount}


async def test_fixed_fee_over_three_months_with_partial_billing() -> None:
    # UK01, GBP 12,000.00 fixed fee, budget 90 h, cost rate 60.00/h, expense markup 10 %.
    # Billed on a schedule of three 4,000.00 instalments plus 20 % VAT.
    e = Engagement(
        BillingModel.FIXED_FEE, "GBP", "UK01", contract_value="12000.00", budget_hours="90",
        markup="10",
    )  # fmt: skip
    books = FakeRevenueBooks()
    inv1, inv2, inv3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    # January. 20 h + 11 h = 31 h approved; 31 / 90 = 34.44 %; 12,000 x 31/90 = 4,133.333..
    #   -> round to 4,133.33, posted on the latest entry date (31 Jan): Dr unbilled 4,133.33.
    # Cost 31 h x 60.00 = 1,860.00.
    # Invoice 1 (31 Jan): 4,000.00 + VAT 800.00 = 4,800.00: Dr AR 4,800.00 / Cr unbilled
    #   4,000.00 (its balance is 4,133.33, enough), Cr VAT 800.00. Unbilled left: 133.33.
    await run(books, deliver(
        e.activated(),
        e.time(("t1", D(2025, 1, 15), "20", "150", "60", True),
               ("t2", D(2025, 1, 31), "11", "150", "60", True)),
        e.issued(inv1, D(2025, 1, 31), "4000.00", "800.00"),
    ))  # fmt: skip
    # Margin 4,133.33 - 1,860.00 = 2,273.33; 2,273.33 / 4,133.33 = 55.0000.. %.
    await month_end(books, e, recognized="4133.33", billed="4000.00", unbilled="133.33",
                    deferred="0", cost="1860.00", margin="2273.33", margin_percent="55.00",
                    percent_complete="34.44")  # fmt: skip
    assert await balances(books, "UK01", D(2025, 1, 31)) == {
        Account.RECEIVABLES: Decimal("4800.00"),
        Account.UNBILLED_RECEIVABLE: Decimal("133.33"),
        Account.TAX_PAYABLE: Decimal("-800.00"),
        Account.REVENUE: Decimal("-4133.33"),
    }

    # February, in date order:
    # 5 Feb  invoice 2 (billed ahead): 4,000.00 + 800.00 VAT. Cr unbilled 133.33 (all of it),
    #        Cr deferred 4,000.00 - 133.33 = 3,866.67.
    # 12 Feb billable expense 150.00 x 1.10 = 165.00: Dr deferred 165.00 (3,866.67 left is
    #        enough) -> deferred 3,701.67. Cost + 150.00.
    # 20 Feb payment of invoice 1: Dr cash 4,800.00 / Cr AR 4,800.00.
    # 27 Feb 29.5 h -> 60.5 h; 12,000 x 60.5/90 = 8,066.666.. -> 8,066.67; catch-up
    #        8,066.67 - 4,133.33 = 3,933.34: Dr deferred 3,701.67 (all of it), Dr unbilled
    #        3,933.34 - 3,701.67 = 231.67. Cost + 29.5 x 60.00 = 1,770.00.
    await run(books, deliver(
        e.issued(inv2, D(2025, 2, 5), "4000.00", "800.00"),
        e.expense("x1", D(2025, 2, 12), "150.00"),
        e.paid(inv1, "pay-1", D(2025, 2, 20), "4800.00"),
        e.time(("t3", D(2025, 2, 27), "29.5", "150", "60", True)),
    ))  # fmt: skip
    # Recognized 4,133.33 + 165.00 + 3,933.34 = 8,231.67; billed 8,000.00;
    # cost 1,860.00 + 150.00 + 1,770.00 = 3,780.00; margin 4,451.67;
    # 4,451.67 / 8,231.67 = 54.0797.. %; percent complete 60.5 / 90 = 67.22 %.
    await month_end(books, e, recognized="8231.67", billed="8000.00", unbilled="231.67",
                    deferred="0", cost="3780.00", margin="4451.67", margin_percent="54.08",
                    percent_complete="67.22")  # fmt: skip
    assert await balances(books, "UK01", D(2025, 2, 28)) == {
        Account.CASH: Decimal("4800.00"),
        Account.RECEIVABLES: Decimal("4800.00"),  # 4,800 + 4,800 - 4,800
        Account.UNBILLED_RECEIVABLE: Decimal("231.67"),
        Account.TAX_PAYABLE: Decimal("-1600.00"),
        Account.REVENUE: Decimal("-8231.67"),
    }

    # March:
    # 20 Mar 20 h -> 80.5 h; 12,000 x 80.5/90 = 10,733.333.. -> 10,733.33; catch-up
    #        10,733.33 - 8,066.67 = 2,666.66 (Dr unbilled: deferred is 0). Cost + 1,200.00.
    # 31 Mar completed with 80.5 of 90 h: the rest, 12,000.00 - 10,733.33 = 1,266.67.
    #        Unbilled 231.67 + 2,666.66 + 1,266.67 = 4,165.00.
    # 31 Mar invoice 3: last instalment 4,000.00 + the expense 165.00 = 4,165.00, VAT
    #        833.00, total 4,998.00: Cr unbilled 4,165.00 (exactly its balance).
    # A late approval after completion adds cost but no revenue: the fee is complete.
    await run(books, deliver(
        e.time(("t4", D(2025, 3, 20), "20", "150", "60", True)),
        e.completed(D(2025, 3, 31)),
        e.issued(inv3, D(2025, 3, 31), "4165.00", "833.00"),
        e.time(("t5", D(2025, 3, 31), "1", "150", "60", False)),
    ))  # fmt: skip
    # Recognized: fee 12,000.00 exactly + expense 165.00 = 12,165.00; billed 4,000 x 3 +
    # 165 = 12,165.00; cost 3,780 + 1,200 + 60 = 5,040.00; margin 7,125.00;
    # 7,125 / 12,165 = 58.5696.. %.
    await month_end(books, e, recognized="12165.00", billed="12165.00", unbilled="0",
                    deferred="0", cost="5040.00", margin="7125.00", margin_percent="58.57",
                    percent_complete="100.00")  # fmt: skip
    fee = sum(
        (x.recognized.amount for x in books.entries
         if x.kind is EntryKind.RECOGNITION and x.basis and x.basis.value != "EXPENSE"),
        Decimal(0),
    )  # fmt: skip
    assert fee == Decimal("12000.00")
    assert await balances(books, "UK01", D(2025, 3, 31)) == {
        Account.CASH: Decimal("4800.00"),
        Account.RECEIVABLES: Decimal("9798.00"),  # 4,800 + 4,998
        Account.TAX_PAYABLE: Decimal("-2433.00"),  # 800 + 800 + 833
        Account.REVENUE: Decimal("-12165.00"),
    }
    # ... and January's trial balance is still January's.
    assert (await balances(books, "UK01", D(2025, 1, 31)))[Account.REVENUE] == Decimal("-4133.33")


async def test_time_and_materials_with_a_voided_and_reissued_invoice() -> None:
    # US01, USD, no tax. Senior: bill 200.00, cost 90.00; Analyst: bill 120.00, cost 55.00.
    e = Engagement(BillingModel.TIME_AND_MATERIALS, "USD", "US01", contract_value="20000.00")
    books = FakeRevenueBooks()
    inv_a, inv_b, inv_c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    # January: 10 Jan senior 8 h (1,600.00) + analyst 7.5 h (900.00) = 2,500.00 on 10 Jan;
    # 24 Jan analyst 4 h non-billable: cost only. Cost 8 x 90 + 7.5 x 55 + 4 x 55 =
    # 720.00 + 412.50 + 220.00 = 1,352.50. Invoice A (31 Jan) 2,500.00: Cr unbilled 2,500.00.
    await run(books, [*deliver(
        e.activated(),
        e.time(("s1", D(2025, 1, 10), "8", "200", "90", True),
               ("a1", D(2025, 1, 10), "7.5", "120", "55", True),
               ("a2", D(2025, 1, 24), "4", "120", "55", False)),
        e.issued(inv_a, D(2025, 1, 31), "2500.00"),
    ), Close("US01", Period(2025, 1))])  # fmt: skip
    # Margin 2,500.00 - 1,352.50 = 1,147.50 = 45.90 %.
    await month_end(books, e, recognized="2500.00", billed="2500.00", unbilled="0",
                    deferred="0", cost="1352.50", margin="1147.50", margin_percent="45.90",
                    percent_complete=None)  # fmt: skip

    # February (January is closed):
    # 3 Feb  invoice A voided: credit note Dr unbilled 2,500.00 / Cr AR 2,500.00 (deferred
    #        is 0, so the whole subtotal is unbilled again). Billed 0.
    # 5 Feb  senior 2 h dated 31 Jan approved late: 400.00, cost 180.00. January is closed,
    #        so it posts on 1 Feb with service date 31 Jan.
    # 14 Feb senior 6 h: 1,200.00, cost 540.00.
    # 28 Feb invoice B re-issues everything: 2,500 + 400 + 1,200 = 4,100.00.
    await run(books, deliver(
        e.voided(inv_a, D(2025, 2, 3), "2500.00"),
        e.time(("s2", D(2025, 1, 31), "2", "200", "90", True)),
        e.time(("s3", D(2025, 2, 14), "6", "200", "90", True)),
        e.issued(inv_b, D(2025, 2, 28), "4100.00"),
    ))  # fmt: skip
    # Recognized 4,100.00; billed 2,500 - 2,500 + 4,100 = 4,100.00; cost 1,352.50 + 180 +
    # 540 = 2,072.50; margin 2,027.50; 2,027.50 / 4,100 = 49.4512.. %.
    await month_end(books, e, recognized="4100.00", billed="4100.00", unbilled="0",
                    deferred="0", cost="2072.50", margin="2027.50", margin_percent="49.45",
                    percent_complete=None)  # fmt: skip
    late = next(x for x in books.entries if x.source_ids == ("s2",))
    assert (late.service_date, late.posting_date) == (D(2025, 1, 31), D(2025, 2, 1))
    credit = next(x for x in books.entries if x.kind is EntryKind.CREDIT_NOTE)
    assert {(ln.account, ln.debit.amount, ln.credit.amount) for ln in credit.lines} == {
        (Account.UNBILLED_RECEIVABLE, Decimal("2500.00"), Decimal("0.00")),
        (Account.RECEIVABLES, Decimal("0.00"), Decimal("2500.00")),
    }
    # The closed month did not move: January still shows 2,500.00 of revenue.
    assert (await balances(books, "US01", D(2025, 1, 31)))[Account.REVENUE] == Decimal("-2500.00")

    # March: 1 Mar invoice C, a 1,000.00 retainer billed ahead: Cr deferred 1,000.00.
    # 10 Mar payment of invoice B 4,100.00. 15 Mar analyst 5 h: 600.00, cost 275.00:
    # Dr deferred 600.00 / Cr revenue -> deferred 400.00.
    await run(books, deliver(
        e.issued(inv_c, D(2025, 3, 1), "1000.00"),
        e.paid(inv_b, "pay-b", D(2025, 3, 10), "4100.00"),
        e.time(("a3", D(2025, 3, 15), "5", "120", "55", True)),
    ))  # fmt: skip
    # Recognized 4,700.00; billed 5,100.00; cost 2,347.50; margin 2,352.50 = 50.0531.. %.
    await month_end(books, e, recognized="4700.00", billed="5100.00", unbilled="0",
                    deferred="400.00", cost="2347.50", margin="2352.50", margin_percent="50.05",
                    percent_complete=None)  # fmt: skip
    assert await balances(books, "US01", D(2025, 3, 31)) == {
        Account.CASH: Decimal("4100.00"),
        Account.RECEIVABLES: Decimal("1000.00"),  # 2,500 - 2,500 + 4,100 - 4,100 + 1,000
        Account.DEFERRED_REVENUE: Decimal("-400.00"),
        Account.REVENUE: Decimal("-4700.00"),
    }


async def test_milestone_engagement() -> None:
    # DE01, EUR 30,000.00 in three milestones: design 9,000, build 15,000, go-live 6,000;
    # 19 % VAT. Time is cost only (70.00/h): it recognizes nothing on a MILESTONE contract.
    e = Engagement(BillingModel.MILESTONE, "EUR", "DE01", contract_value="30000.00")
    books = FakeRevenueBooks()
    inv1, inv2 = uuid.uuid4(), uuid.uuid4()

    # January: 40 h, cost 2,800.00. Design completed 28 Jan: Dr unbilled 9,000.00.
    # Invoice 1 (31 Jan): 9,000.00 + VAT 1,710.00 = 10,710.00: Cr unbilled 9,000.00.
    await run(books, deliver(
        e.activated(),
        e.time(("t1", D(2025, 1, 20), "40", "0", "70", True)),
        e.milestone("design", D(2025, 1, 28), "9000.00"),
        e.issued(inv1, D(2025, 1, 31), "9000.00", "1710.00"),
    ))  # fmt: skip
    # Margin 9,000 - 2,800 = 6,200.00 = 68.888.. %; 9,000 / 30,000 = 30 % complete.
    await month_end(books, e, recognized="9000.00", billed="9000.00", unbilled="0",
                    deferred="0", cost="2800.00", margin="6200.00", margin_percent="68.89",
                    percent_complete="30.00")  # fmt: skip

    # February: 100 h, cost 7,000.00. 15 Feb the build is invoiced ahead: 15,000.00 + VAT
    # 2,850.00: Cr deferred 15,000.00. 20 Feb invoice 1 paid: 10,710.00.
    await run(books, deliver(
        e.time(("t2", D(2025, 2, 10), "100", "0", "70", True)),
        e.issued(inv2, D(2025, 2, 15), "15000.00", "2850.00"),
        e.paid(inv1, "pay-1", D(2025, 2, 20), "10710.00"),
    ))  # fmt: skip
    # Recognized 9,000.00; billed 24,000.00; deferred 15,000.00; cost 9,800.00;
    # margin 9,000 - 9,800 = -800.00 = -8.888.. %.
    await month_end(books, e, recognized="9000.00", billed="24000.00", unbilled="0",
                    deferred="15000.00", cost="9800.00", margin="-800.00",
                    margin_percent="-8.89", percent_complete="30.00")  # fmt: skip

    # March: build completed 5 Mar: Dr deferred 15,000.00 / Cr revenue. 20 Mar invoice 2
    # paid 17,850.00. 30 h, cost 2,100.00. Go-live completed 31 Mar, not billed yet:
    # Dr unbilled 6,000.00.
    await run(books, deliver(
        e.milestone("build", D(2025, 3, 5), "15000.00"),
        e.paid(inv2, "pay-2", D(2025, 3, 20), "17850.00"),
        e.time(("t3", D(2025, 3, 25), "30", "0", "70", True)),
        e.milestone("go-live", D(2025, 3, 31), "6000.00"),
    ))  # fmt: skip
    # Recognized 30,000.00; billed 24,000.00; unbilled 6,000.00; cost 11,900.00;
    # margin 18,100.00 = 60.333.. %.
    await month_end(books, e, recognized="30000.00", billed="24000.00", unbilled="6000.00",
                    deferred="0", cost="11900.00", margin="18100.00", margin_percent="60.33",
                    percent_complete="100.00")  # fmt: skip
    assert await balances(books, "DE01", D(2025, 3, 31)) == {
        Account.CASH: Decimal("28560.00"),  # 10,710 + 17,850
        Account.UNBILLED_RECEIVABLE: Decimal("6000.00"),
        Account.TAX_PAYABLE: Decimal("-4560.00"),  # 1,710 + 2,850
        Account.REVENUE: Decimal("-30000.00"),
    }
