def moving_sums(values, width):
    """The sum of every run of `width` consecutive values, in order."""
    return [sum(values[i : i + width]) for i in range(len(values) - width)]
