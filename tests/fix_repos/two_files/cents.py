def to_cents(amount):
    """An amount such as "12.34" or "12.5" in whole cents."""
    units, _, fraction = amount.partition(".")
    return int(units) * 100 + int(fraction or 0)
