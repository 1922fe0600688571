def mean(values):
    """The arithmetic mean of `values`; 0.0 when there are none."""
    return sum(values) / len(values)


def spread(values):
    """The largest value minus the smallest."""
    return max(values) - min(values)
