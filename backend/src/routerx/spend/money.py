"""Money as integers: picodollars (1e-12 USD), so sums are exact in SQL and Redis.

A catalog price of P USD per million tokens is P x 1e6 picodollars per token, exact for any
price with up to six decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

PICO_PER_USD = 10**12
PICO_PER_TOKEN_PER_USD_PER_MTOK = 10**6


def rate_from_price(price_per_mtok: Decimal | None) -> int | None:
    """Picodollars per token for a price in USD per million tokens."""
    if price_per_mtok is None:
        return None
    scaled = price_per_mtok * PICO_PER_TOKEN_PER_USD_PER_MTOK
    return int(scaled.to_integral_value(ROUND_HALF_EVEN))


def usd(picodollars: int) -> Decimal:
    """The exact USD amount, as a Decimal (12 decimals)."""
    return Decimal(picodollars).scaleb(-12)


def usd_text(picodollars: int | None) -> str | None:
    """A decimal string with trailing zeros trimmed (at least 2 decimals), or None."""
    if picodollars is None:
        return None
    text = f"{usd(picodollars):f}"
    if "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(2, "0")
        text = f"{whole}.{fraction}"
    return text


def picodollars(amount_usd: Decimal | str | int) -> int:
    """Picodollars for an amount in USD (rounded half-even to a picodollar)."""
    value = Decimal(amount_usd) if not isinstance(amount_usd, Decimal) else amount_usd
    return int((value * PICO_PER_USD).to_integral_value(ROUND_HALF_EVEN))
