import pytest

from ports import parse_port


def test_valid():
    assert parse_port("8080") == 8080


def test_not_a_number():
    with pytest.raises(ValueError):
        parse_port("http")


def test_out_of_range():
    with pytest.raises(ValueError):
        parse_port("70000")
