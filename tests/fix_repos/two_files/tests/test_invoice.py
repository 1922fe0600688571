from cents import to_cents
from invoice import total


def test_whole_cents():
    assert to_cents("12.34") == 1234


def test_total():
    assert total([("12.5", 2), ("0.25", 1)]) == 2525


def test_empty_invoice():
    assert total([]) == 0
