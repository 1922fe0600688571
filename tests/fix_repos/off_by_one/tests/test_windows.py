from windows import moving_sums


def test_pairs():
    assert moving_sums([1, 2, 3, 4], 2) == [3, 5, 7]


def test_one_window_covers_all():
    assert moving_sums([1, 2, 3], 3) == [6]


def test_wider_than_the_values():
    assert moving_sums([1], 2) == []
