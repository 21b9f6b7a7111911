"""Three-way merge of two editors' versions of one article (`cms.content.merge`), checked over
random pairs of edits (hypothesis): one side's change is always in the result, the result is a
valid article, conflicts are named exactly when both sides changed one thing differently, and
the merge is the same whichever side is "theirs"."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cms.content.document import article_errors
from cms.content.merge import merge

SCALARS = ("title", "summary", "section")
WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])


def paragraph(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "text": text}


def base_article(n_blocks: int) -> dict[str, Any]:
    return {
        "title": "Base title",
        "summary": "Base summary.",
        "section": "news",
        "tags": ["one", "two", "three"],
        "authors": [{"name": "Ada"}],
        "body": [paragraph(f"base block {i}") for i in range(n_blocks)],
    }


@st.composite
def side(draw: Any, base: dict[str, Any], name: str) -> dict[str, Any]:
    """A version of `base` with random changes: scalars, tags, authors and body blocks
    (edits in place, insertions, removals), every new text unique to this side."""
    doc = {k: (list(v) if isinstance(v, list) else v) for k, v in base.items()}
    counter = iter(range(1000))
    # each change is drawn rarely enough that most pairs of sides merge without a conflict,
    # so the properties of a clean merge are tested as often as those of a conflict
    for field in SCALARS:
        if draw(st.integers(0, 3)) == 0:
            doc[field] = draw(st.sampled_from([f"{name} {field}", f"shared {field}"]))
    if draw(st.integers(0, 2)) == 0:
        tags = [t for t in doc["tags"] if draw(st.booleans())]
        tags += [f"{name}-{w}" for w in draw(st.lists(WORDS, max_size=2, unique=True))]
        doc["tags"] = tags
    if draw(st.integers(0, 3)) == 0:
        doc["authors"] = [{"name": draw(st.sampled_from([name, "Both"]))}]
    body = list(doc["body"])
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["edit", "insert", "remove"]))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "edit" and body:  # sometimes the edit both sides make
            shared = draw(st.booleans())
            body[at] = paragraph(
                f"shared edit of {body[at]['text']}" if shared else f"{name} edit {next(counter)}"
            )
        elif op == "insert":
            body.insert(at, paragraph(f"{name} new {next(counter)}"))
        elif op == "remove" and len(body) > 1:
            body.pop(at)
    doc["body"] = body
    return doc


@st.composite
def scenario(draw: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    base = base_article(draw(st.integers(1, 8)))
    return base, draw(side(base, "theirs")), draw(side(base, "yours"))


def texts(body: list[dict[str, Any]]) -> list[str]:
    return [b["text"] for b in body]


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_one_sides_change_is_always_in_the_result(case):
    base, theirs, yours = case
    result = merge(base, theirs, yours, article_errors)
    for field in (*SCALARS, "authors"):
        if yours[field] == base[field] and not result.conflicts:
            assert result.fields[field] == theirs[field]
        if theirs[field] == base[field] and not result.conflicts:
            assert result.fields[field] == yours[field]
    if result.conflicts:
        return
    merged = texts(result.fields["body"])
    for side_doc in (theirs, yours):
        new = set(texts(side_doc["body"])) - set(texts(base["body"]))
        assert new <= set(merged), "a block one side wrote is missing"
        removed = set(texts(base["body"])) - set(texts(side_doc["body"]))
        assert not removed & set(merged), "a block one side removed came back"
        added = set(side_doc["tags"]) - set(base["tags"])
        dropped = set(base["tags"]) - set(side_doc["tags"])
        assert added <= set(result.fields["tags"]) and not dropped & set(result.fields["tags"])


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_the_result_is_a_valid_article(case):
    base, theirs, yours = case
    result = merge(base, theirs, yours, article_errors)
    if not result.conflicts:
        assert article_errors(result.fields) == {}


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_conflicts_are_named_exactly_when_both_sides_changed_one_field_differently(case):
    base, theirs, yours = case
    paths = {c.path for c in merge(base, theirs, yours).conflicts}
    for field in (*SCALARS, "authors"):
        both = theirs[field] != base[field] and yours[field] != base[field]
        assert (f"/{field}" in paths) == (both and theirs[field] != yours[field]), field
    assert "/tags" not in paths  # tags merge as a set: never a conflict
    body_conflicts = {p for p in paths if p.startswith("/body")}
    if body_conflicts:  # both sides changed the body, and differently
        assert theirs["body"] != base["body"] != yours["body"] != theirs["body"]


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_the_merge_is_the_same_whichever_side_is_theirs(case):
    base, theirs, yours = case
    one, other = merge(base, theirs, yours), merge(base, yours, theirs)
    assert {c.path for c in one.conflicts} == {c.path for c in other.conflicts}
    for c, d in zip(
        sorted(one.conflicts, key=lambda c: c.path),
        sorted(other.conflicts, key=lambda c: c.path),
        strict=True,
    ):
        assert (c.base, c.theirs, c.yours) == (d.base, d.yours, d.theirs)
    if one.conflicts:
        return
    assert set(one.fields) == set(other.fields)
    for field, value in one.fields.items():
        if field == "tags":
            assert set(value) == set(other.fields[field])
        else:
            assert value == other.fields[field], field


def test_edits_of_neighbouring_blocks_merge():
    base = base_article(3)
    theirs = {**base, "body": [base["body"][0], paragraph("their middle"), base["body"][2]]}
    yours = {**base, "body": [*base["body"][:2], paragraph("your last")]}
    result = merge(base, theirs, yours)
    assert result.conflicts == []
    assert texts(result.fields["body"]) == ["base block 0", "their middle", "your last"]
    assert result.theirs == ["/body/1"] and result.yours == ["/body/2"]


def test_an_insertion_merges_with_an_edit_of_the_next_block():
    base = base_article(2)
    theirs = {**base, "body": [base["body"][0], paragraph("inserted"), base["body"][1]]}
    yours = {**base, "body": [base["body"][0], paragraph("edited second")]}
    result = merge(base, theirs, yours)
    assert texts(result.fields["body"]) == ["base block 0", "inserted", "edited second"]


def test_the_same_block_edited_differently_is_a_conflict_naming_it():
    base = base_article(3)
    theirs = {**base, "body": [base["body"][0], paragraph("theirs"), base["body"][2]]}
    yours = {**base, "body": [base["body"][0], paragraph("yours"), base["body"][2]]}
    [conflict] = merge(base, theirs, yours).conflicts
    assert conflict.path == "/body/1"
    assert (conflict.base, conflict.theirs, conflict.yours) == (
        [paragraph("base block 1")],
        [paragraph("theirs")],
        [paragraph("yours")],
    )


def test_the_same_change_on_both_sides_is_no_conflict():
    base = base_article(2)
    same = {**base, "title": "Both wrote this", "body": [paragraph("x"), base["body"][1]]}
    result = merge(base, dict(same), dict(same))
    assert result.conflicts == [] and result.fields == same


def test_removing_every_block_between_two_sides_is_a_conflict_not_an_empty_body():
    base = base_article(2)
    result = merge(base, {**base, "body": [base["body"][1]]}, {**base, "body": [base["body"][0]]})
    assert [c.path for c in result.conflicts] == ["/body"]


def test_tags_adding_up_past_the_limit_are_a_conflict_on_tags():
    base = {**base_article(1), "tags": []}
    theirs = {**base, "tags": [f"t{i}" for i in range(30)]}
    yours = {**base, "tags": [f"y{i}" for i in range(30)]}
    result = merge(base, theirs, yours, article_errors)
    assert [c.path for c in result.conflicts] == ["/tags"]


def test_a_choice_per_conflicting_path_takes_that_side_and_the_rest_still_merges():
    base = base_article(3)
    theirs = {
        **base,
        "title": "Their title",
        "summary": "Their summary",
        "body": [paragraph("their first"), paragraph("theirs"), base["body"][2]],
    }
    yours = {
        **base,
        "title": "Your title",
        "summary": "Your summary",
        "body": [base["body"][0], paragraph("yours"), paragraph("your last")],
    }
    unanswered = merge(base, theirs, yours)
    assert [c.path for c in unanswered.conflicts] == ["/title", "/summary", "/body/1"]
    result = merge(
        base, theirs, yours, choices={"/title": "yours", "/summary": "theirs", "/body/1": "yours"}
    )
    assert result.conflicts == []
    assert (result.fields["title"], result.fields["summary"]) == ("Your title", "Their summary")
    # the chosen block is yours; each side's edit of another block is in, as without a choice
    assert texts(result.fields["body"]) == ["their first", "yours", "your last"]
    assert "/title" in result.yours and "/summary" in result.theirs
    # a choice for a path that is no conflict changes nothing; an unanswered conflict stays
    partly = merge(base, theirs, yours, choices={"/title": "theirs", "/section": "yours"})
    assert [c.path for c in partly.conflicts] == ["/summary", "/body/1"]


# -- blame: who last changed each field and block ---------------------------------------------


def test_blame_credits_each_field_and_block_to_the_version_that_last_changed_it():
    from cms.content.blame import Version, attribute

    v1 = {"title": "One", "summary": "S", "body": [paragraph("a"), paragraph("b")]}
    v2 = {**v1, "title": "Two"}
    v3 = {**v2, "body": [paragraph("a"), paragraph("inserted"), paragraph("b")]}
    blame = attribute(
        [Version("c1", (), v1), Version("c2", ("c1",), v2), Version("c3", ("c2",), v3)]
    )
    assert blame is not None
    assert blame.fields == {"title": "c2", "summary": "c1", "body": "c3"}
    assert blame.blocks == ["c1", "c3", "c1"]


def test_blame_through_a_merge_credits_each_side_with_its_own_change():
    from cms.content.blame import Version, attribute

    base = {"title": "Base", "summary": "Base", "body": [paragraph("a"), paragraph("b")]}
    theirs = {**base, "title": "Theirs", "body": [paragraph("a2"), paragraph("b")]}
    yours = {**base, "summary": "Yours", "body": [paragraph("a"), paragraph("b2")]}
    merged = merge(base, theirs, yours).fields
    blame = attribute(
        [
            Version("base", (), base),
            Version("theirs", ("base",), theirs),
            Version("yours", ("base",), yours),
            Version("merge", ("theirs", "yours"), merged),
        ]
    )
    assert blame is not None
    assert blame.fields["title"] == "theirs" and blame.fields["summary"] == "yours"
    assert blame.blocks == ["theirs", "yours"]


def test_blame_starts_again_after_the_file_was_removed():
    from cms.content.blame import Version, attribute

    doc = {"title": "T", "body": [paragraph("a")]}
    blame = attribute(
        [Version("c1", (), doc), Version("c2", ("c1",), None), Version("c3", ("c2",), doc)]
    )
    assert blame is not None and blame.fields == {"title": "c3", "body": "c3"}
