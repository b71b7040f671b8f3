"""Threads (DESIGN: provider thread id where there is one, else the References/In-Reply-To graph):
the union-find the analysis keeps, and the nodes one message joins."""

from __future__ import annotations

from kith.analysis.threads import MAX_REFERENCES, UnionFind, message_nodes


def test_the_nodes_of_a_message_are_itself_its_references_its_parent_and_its_thread() -> None:
    assert message_nodes("<c@x>", "<b@x>", ["<a@x>", "<b@x>"], "t1", 7) == ["<c@x>", "<a@x>", "<b@x>", "thread:7:t1"]
    assert message_nodes("<a@x>", None, None, None, 7) == ["<a@x>"]
    # blank or padded ids are not nodes of their own
    assert message_nodes("<c@x>", "  ", [" <a@x> ", "", "  "], "", 7) == ["<c@x>", "<a@x>"]
    assert message_nodes("<c@x>", " <b@x> ", [], None, 7) == ["<c@x>", "<b@x>"]


def test_a_provider_thread_id_is_per_mailbox() -> None:
    assert message_nodes("<a@x>", None, None, "t1", 1)[-1] != message_nodes("<b@x>", None, None, "t1", 2)[-1]


def test_only_the_last_references_are_kept() -> None:
    refs = [f"<r{i}@x>" for i in range(MAX_REFERENCES + 10)]
    nodes = message_nodes("<m@x>", None, refs, None, 1)
    assert MAX_REFERENCES == 50
    assert nodes == ["<m@x>", *refs[-MAX_REFERENCES:]]


def test_a_huge_id_is_cut_to_what_the_store_holds() -> None:
    nodes = message_nodes("<" + "a" * 3000 + ">", None, None, None, 1)
    assert len(nodes[0]) == 1000


def test_union_joins_and_the_smaller_name_is_the_thread_whatever_the_order() -> None:
    for pairs in ([("b", "a"), ("c", "b")], [("c", "b"), ("b", "a")], [("a", "c"), ("b", "c")]):
        uf = UnionFind()
        for x, y in pairs:
            uf.union(x, y)
        assert dict(uf.groups()) == {"a": "a", "b": "a", "c": "a"}, pairs


def test_separate_threads_stay_apart_and_a_lone_node_is_its_own() -> None:
    uf = UnionFind()
    uf.union("a", "b")
    uf.union("x", "y")
    assert uf.find("lone") == "lone"
    assert dict(uf.groups()) == {"a": "a", "b": "a", "x": "x", "y": "x", "lone": "lone"}
    uf.union("y", "b")  # a message that references both merges them
    assert {n: r for n, r in uf.groups()} == {"a": "a", "b": "a", "x": "a", "y": "a", "lone": "lone"}


def test_long_chains_are_compressed() -> None:
    uf = UnionFind()
    for i in range(100, 0, -1):
        uf.union(f"n{i:03d}", f"n{i - 1:03d}")
    assert uf.find("n100") == "n000"
    assert uf.parent["n100"] == "n000"  # one step from the root after a find
