from names import normalize, sort_key


def test_normalize_keeps_case():
    assert normalize("  Ada   Lovelace ") == "Ada Lovelace"


def test_sorting_ignores_case():
    assert sorted(["bob", "alice", "Carol"], key=sort_key) == ["alice", "bob", "Carol"]
