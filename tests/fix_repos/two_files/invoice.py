from cents import to_cents


def total(lines):
    """The total in cents of invoice lines, each (unit price, quantity)."""
    return sum(to_cents(price) for price, quantity in lines)
