"""TaskRouter's expression language: Twilio's documented examples, every operator, precedence,
errors, and two properties (generated expressions agree with a reference evaluator; arbitrary text
parses or raises ExpressionError, never anything else)."""

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.taskrouter.expressions import BARE, ExpressionError, parse, parse_path
from core.error_codes import ErrorCode

# The Task attributes of Twilio's expression-syntax page, and a worker like its TargetWorkers example.
DOCUMENTED_TASK = {"string_const": "foo", "object": {"array": ["a", "b", "c"], "attr": "bar"}}
WORKER = {
    "skills": ["support", "billing"],
    "languages": ["english", "spanish"],
    "language": "en",
    "level": 3,
    "skill_rating": 5.5,
    "condition_a": False,
    "condition_b": True,
    "key": 2,
    "object": {"param": "pear"},
}


def holds(text: str, document: dict[str, Any]) -> bool:
    return parse(text).evaluate({BARE: document})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # https://www.twilio.com/docs/taskrouter/expression-syntax, "Expression Structure"
        ("(skills HAS 'support') AND (languages HAS 'english')", True),
        ("1 == 1", True),
        ("0 != 1", True),
        ('"apple" != "orange"', True),
        ("key > 1", True),
        ('object.param != "apple"', True),
        ('language IN ["en", "es"]', True),
        ("(condition_a == true) OR (condition_b == true)", True),
        ('(language == "en" OR language == "fr") AND skill_rating >= 5.1', True),
        ('(language == "fr" OR language == "de") AND skill_rating >= 5.1', False),
        # the activity-based routing page writes the keyword in lower case
        ("language in ['en', 'fr']", True),
        ("1==1", True),
    ],
)
def test_documented_examples(text: str, expected: bool) -> None:
    assert holds(text, WORKER) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('string_const == "foo"', True),
        ('object.array HAS "b"', True),
        ('object.array[2] == "c"', True),
        ('object.array[0] == "a"', True),  # Twilio's changelog: this once failed, then was fixed
        ('object.array[3] == "c"', False),
        ('object.attr == "bar"', True),
        ('object.attr.deeper == "bar"', False),
        ("missing == null", True),
        ("object.attr != null", True),
        ("object.array != null", True),  # the lifecycle page's `preferred_agents != null`
        ("object == null", False),
    ],
)
def test_documented_references_resolve_against_the_document(text: str, expected: bool) -> None:
    assert holds(text, DOCUMENTED_TASK) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # scalar operators: one type on both sides, int and float alike
        ("3 == 3.0", True),
        ("'3' == 3", False),
        ("true == 1", False),
        ("false == false", True),
        ("'a' = 'a'", True),
        ("2 != 3", True),
        ("'2' != 3", False),  # different types compare false, != included
        ("2 > 1.5", True),
        ("-2 < -1", True),
        ("-0.5 <= .5", True),
        ("'b' > 'a'", True),
        ("'B' > 'a'", False),
        ("true > false", False),  # booleans are not ordered
        ("2 >= 2", True),
        ("2 <= 1", False),
        ("'hello world' CONTAINS 'lo w'", True),
        ("'hello' CONTAINS 'xyz'", False),
        ("123 CONTAINS 2", False),
        # scalar operators on arrays are false
        ("skills == 'support'", False),
        ("skills != 'support'", False),
        ("skills CONTAINS 'support'", False),
        ("skills > 1", False),
        # array operators
        ("skills HAS 'billing'", True),
        ("skills HAS 'sales'", False),
        ("['a', 'b'] HAS 'a'", True),
        ("language HAS 'en'", False),  # on two scalars, false
        ("skills HAS skills", False),
        ("'support' IN skills", True),
        ("'sales' IN skills", False),
        ("level IN [1, 2, 3]", True),
        ("level IN [1.0, 3.0]", True),
        ("true IN [1]", False),
        ("1 IN [true]", False),
        ("'sales' NOT IN skills", True),
        ("'support' NOT IN skills", False),
        ("level NOT IN []", True),
        ("language IN 'en'", False),
        ("language NOT IN 'en'", False),  # not a negation of IN: an array operator on scalars
        ("skills IN ['support']", False),
        ("skills NOT IN ['sales']", False),
        ("null IN [null]", False),
        # missing attributes are NULL: every comparison with them is false, save the null test
        ("missing == 1", False),
        ("missing != 1", False),
        ("missing < 1", False),
        ("missing HAS 1", False),
        ("missing IN [1]", False),
        ("missing NOT IN [1]", False),
        ("missing == missing", False),
        ("missing == null", True),
        ("null == missing", True),
        ("null == null", True),
        ("level != null", True),
        ("null != level", True),
        ("missing != null", False),
        # keywords and constants in any case
        ("skills has 'support' and LEVEL == 3", False),  # names keep their case
        ("skills Has 'support' And level == 3 oR 1 == 2", True),
        ("condition_b == TRUE", True),
        ("condition_a == False", True),
        ("missing == NULL", True),
        ("not level == 4", True),
        ("level not in [4]", True),
    ],
)
def test_operators(text: str, expected: bool) -> None:
    assert holds(text, WORKER) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 == 1 OR 1 == 2 AND 1 == 2", True),  # AND binds tighter than OR
        ("(1 == 1 OR 1 == 2) AND 1 == 2", False),
        ("1 == 2 AND 1 == 2 OR 1 == 1", True),
        ("NOT 1 == 1 OR 1 == 1", True),  # NOT binds tighter than OR
        ("NOT (1 == 1 OR 1 == 1)", False),
        ("NOT 1 == 2 AND 1 == 2", False),  # and tighter than AND
        ("NOT NOT 1 == 1", True),
        ("((1 == 1))", True),
        ("1 == 1 AND 2 == 2 AND 3 == 3 AND 4 == 5", False),
    ],
)
def test_precedence(text: str, expected: bool) -> None:
    assert holds(text, {}) is expected


def test_strings_take_either_quote_and_backslash_escapes() -> None:
    document = {"name": 'O\'Brien "Jr" \\ 1'}
    assert holds(r"""name == 'O\'Brien "Jr" \\ 1'""", document)
    assert holds(r'''name == "O'Brien \"Jr\" \\ 1"''', document)
    assert holds("name CONTAINS 'Bri'", document)


def test_numbers_are_integers_or_decimals() -> None:
    assert holds("n == 0800", {"n": 800})  # the time-of-day page's `taskrouter.currentTime > 0800`
    assert holds("n == -1.25", {"n": -1.25})
    assert holds("n == 1.00", {"n": 1})


def test_target_expressions_compare_the_task_with_each_worker() -> None:
    """The workflow pages' target expressions, prefixed by `task.` and `worker.`."""
    task = {"preferred_agents": ["agent01", "agent04"], "requested_agent": "alice", "required_language": "es"}
    workers = [
        {"id": "agent01", "agent_id": "bob", "spoken_languages": ["en"], "sid": "WK1"},
        {"id": "agent02", "agent_id": "alice", "spoken_languages": ["en", "es"], "sid": "WK2"},
    ]
    expressions = {
        "worker.id IN task.preferred_agents": [True, False],
        "task.requested_agent==worker.agent_id": [False, True],
        "task.required_language IN worker.spoken_languages": [False, True],
        "worker.sid NOT IN task.workerSidsInConversation": [False, False],  # the task lacks the array
    }
    for text, expected in expressions.items():
        expression = parse(text)
        assert [expression.evaluate({"task": task, "worker": worker}) for worker in workers] == expected, text
    in_conversation = {"workerSidsInConversation": ["WK1"]}
    expression = parse("worker.sid NOT IN task.workerSidsInConversation")
    assert [expression.evaluate({"task": in_conversation, "worker": w}) for w in workers] == [False, True]


def test_skip_if_counts_the_queues_workers() -> None:
    """The worker-presence page's skip_if expressions, over a `workers` root the engine fills."""
    counts = {"available": 0, "unavailable": 3, "WAaaa": 1, "WAbbb": 4}
    for text, expected in {
        "workers.available == 0": True,
        "1==1": True,
        "workers.WAaaa < 2": True,
        "workers.WAbbb < 2 OR workers.WAaaa < 2": True,
        "workers.WAbbb < 2 OR workers.WAccc < 2": False,
    }.items():
        assert parse(text).evaluate({"workers": counts}) is expected, text


def test_a_prefix_the_caller_does_not_provide_is_part_of_a_bare_path() -> None:
    """A filter expression sees only the task: `task.type` reads the task's type when the caller
    names the task root too, and a key named `task` when it does not."""
    expression = parse("task.type == 'support'")
    assert expression.evaluate({"task": {"type": "support"}, BARE: {"type": "support"}})
    assert expression.evaluate({BARE: {"task": {"type": "support"}}})
    assert not expression.evaluate({BARE: {"type": "support"}})
    assert not expression.evaluate({})


def test_referenced_roots() -> None:
    assert parse("worker.id IN task.preferred_agents").referenced_roots == {"worker", "task"}
    assert parse("skills HAS 'a' AND worker.level > 1").referenced_roots == {BARE, "worker"}
    assert parse("workers.available == 0").referenced_roots == {"workers"}
    assert parse("1 == 1").referenced_roots == frozenset()
    assert parse("task == 1").referenced_roots == {BARE}  # a root's name alone is a bare name


def test_an_expression_is_immutable_and_reusable() -> None:
    expression = parse("level >= 2")
    assert [expression.evaluate({BARE: {"level": n}}) for n in (1, 2, 3)] == [False, True, True]
    with pytest.raises(AttributeError):
        expression.text = "1 == 1"  # type: ignore[misc]
    assert parse("level >= 2") == expression


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "Empty expression", 0),
        ("   ", "Empty expression", 3),
        ("skills", "Expected a comparison operator, found the end of the expression", 6),
        ("skills HAS", "Expected a name, a constant or a list, found the end of the expression", 10),
        ("first-name == 'a'", "Unexpected character '-'", 5),
        ("a == 'open", "Unterminated string", 5),
        ("a == 1 AND", "Expected a name, a constant or a list, found the end", 10),
        ("a == 1 b == 2", "Expected AND, OR or the end of the expression, found 'b'", 7),
        ("(a == 1", "Expected ')', found the end of the expression", 7),
        ("a == 1)", "Expected AND, OR or the end of the expression, found ')'", 6),
        ("a == b == c", "Expected AND, OR or the end of the expression, found '=='", 7),
        ("a IN [1, 2", "Expected ',' or ']', found the end of the expression", 10),
        ("a IN [1 2]", "Expected ',' or ']', found '2'", 8),
        ("a IN [b]", "Expected a constant, found 'b'", 6),
        ("a IN [[1]]", "Expected a constant, found '['", 6),
        ("a NOT HAS 1", "Expected a comparison operator, found 'NOT'", 2),
        ("a.", "Malformed name 'a.'", 0),
        ("a.b. == 1", "Malformed name 'a.b.'", 0),
        ("1.2.3 == 1", "Malformed number '1.2.'", 0),
        ("a == 1abc", "Malformed number '1a'", 5),
        ("a[x] == 1", "Expected a comparison operator, found '['", 1),
        ("a == 1 && b == 2", "Unexpected character '&'", 7),
        ("AND == 1", "Expected a name, a constant or a list, found 'AND'", 0),
        ("a == 1 OR (", "Expected a name, a constant or a list, found the end", 11),
        ("a ≥ 1", "Unexpected character '≥'", 2),
        ("a == " + "9" * 5000, "Number too long", 5),
        ("(" * 65 + "1 == 1" + ")" * 65, "Nested more than 64 deep", 65),
        ("NOT " * 65 + "1 == 1", "Nested more than 64 deep", 260),
    ],
)
def test_errors_name_what_and_where(text: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(f"at character {position + 1}")
    assert caught.value.position == position
    assert caught.value.code == ErrorCode.UNKNOWN_PARAMETERS


def test_nesting_up_to_the_limit_parses() -> None:
    assert holds("(" * 64 + "1 == 1" + ")" * 64, {})
    assert holds("NOT " * 64 + "1 == 1", {})


def test_parse_path() -> None:
    path = parse_path("task.requested_agent")
    assert path.resolve({"task": {"requested_agent": "WK1"}}) == "WK1"
    assert parse_path("routing.levels[1]").resolve({BARE: {"routing": {"levels": [1, 7]}}}) == 7
    for text, position in (("", 0), ("'WK1'", 0), ("task.a == 1", 7), ("task.", 0)):
        with pytest.raises(ExpressionError) as caught:
            parse_path(text)
        assert caught.value.position == position, text


# Property tests. A generated tree renders to text with random keyword case and spacing; parsing
# that text and evaluating it must agree with `reference`, an evaluator written from the documented
# rules without the parser's code.

SCALARS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.25, 2.0]),
    st.text(alphabet="ab'\"\\ ", max_size=3),
    st.booleans(),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.fixed_dictionaries({"x": SCALARS}))
DOCUMENTS = st.dictionaries(st.sampled_from(["a", "b", "c"]), VALUES)
PATHS = ["a", "b", "c", "d", "a.x", "b.x", "a[0]", "b[1]", "worker.a", "worker.c[0]", "task.b"]
OPERATORS = ["==", "=", "!=", ">", ">=", "<", "<=", "CONTAINS", "HAS", "IN", "NOT IN"]


@dataclass(frozen=True)
class Ref:
    path: str


@dataclass(frozen=True)
class Const:
    value: Any  # a scalar, None, or a tuple of scalars


@dataclass(frozen=True)
class Cmp:
    operator: str
    left: Ref | Const
    right: Ref | Const


@dataclass(frozen=True)
class Logic:
    operator: str  # AND, OR, NOT
    operands: tuple[Any, ...]


OPERANDS = st.one_of(
    st.sampled_from(PATHS).map(Ref),
    st.one_of(SCALARS, st.none()).map(Const),
    st.lists(SCALARS, max_size=3).map(lambda items: Const(tuple(items))),
)
TREES = st.recursive(
    st.builds(Cmp, st.sampled_from(OPERATORS), OPERANDS, OPERANDS),
    lambda children: st.one_of(
        st.builds(lambda *xs: Logic("AND", xs), children, children),
        st.builds(lambda *xs: Logic("OR", xs), children, children),
        st.builds(lambda x: Logic("NOT", (x,)), children),
    ),
    max_leaves=8,
)


def lookup(document: Any, path: str) -> Any:
    for part in path.replace("[", ".").replace("]", "").split("."):
        if part.isdigit():
            ok = type(document) is list and int(part) < len(document)
            document = document[int(part)] if ok else None
        else:
            document = document.get(part) if type(document) is dict else None
    return document


def reference(tree: Any, task: dict[str, Any], worker: dict[str, Any]) -> bool:
    """The documented semantics, for roots `task`, `worker` and bare names meaning the worker."""
    if isinstance(tree, Logic):
        results = [reference(operand, task, worker) for operand in tree.operands]
        return {"AND": all, "OR": any, "NOT": lambda r: not r[0]}[tree.operator](results)

    def value(operand: Ref | Const) -> Any:
        if isinstance(operand, Const):
            return operand.value
        root, _, rest = operand.path.partition(".")
        if root in ("task", "worker") and rest:
            return lookup({"task": task, "worker": worker}[root], rest)
        return lookup(worker, operand.path)

    def family(v: Any) -> str | None:
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, int | float):
            return "number"
        return "string" if isinstance(v, str) else None

    def same(x: Any, y: Any) -> bool:
        return family(x) is not None and family(x) == family(y)

    def member(item: Any, array: Any) -> bool:
        return isinstance(array, list | tuple) and any(same(item, e) and item == e for e in array)

    op, left, right = tree.operator, value(tree.left), value(tree.right)
    if op in ("==", "=", "!=") and Const(None) in (tree.left, tree.right):
        other = right if tree.left == Const(None) else left
        return (other is None) == (op != "!=")
    if op in ("==", "="):
        return same(left, right) and left == right
    if op == "!=":
        return same(left, right) and left != right
    if op in (">", ">=", "<", "<="):
        ordered = same(left, right) and family(left) != "boolean"
        return (
            ordered and {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
        )
    if op == "CONTAINS":
        return isinstance(left, str) and isinstance(right, str) and right in left
    if op == "HAS":
        return family(right) is not None and member(right, left)
    scalar_and_array = family(left) is not None and isinstance(right, list | tuple)
    return scalar_and_array and member(left, right) == (op == "IN")


def render(tree: Any, data: st.DataObject, parent: int = 0) -> str:
    """Text for `tree` with parentheses only where precedence needs them (OR 1, AND 2, NOT 3)."""
    if isinstance(tree, Cmp):
        space = data.draw(st.sampled_from([" ", "  "]))
        symbol = tree.operator[0] in "=!<>" and data.draw(st.booleans())
        gap = "" if symbol else space
        operator = keyword(tree.operator, data)
        return f"{operand(tree.left, data)}{gap}{operator}{gap}{operand(tree.right, data)}"
    level = {"OR": 1, "AND": 2, "NOT": 3}[tree.operator]
    if tree.operator == "NOT":
        text = f"{keyword('NOT', data)} {render(tree.operands[0], data, level)}"
    else:
        joiner = f" {keyword(tree.operator, data)} "
        text = joiner.join(render(child, data, level + 1) for child in tree.operands)
    return f"({text})" if level < parent or data.draw(st.integers(0, 9)) == 0 else text


def keyword(word: str, data: st.DataObject) -> str:
    return "".join(c.lower() if c.isalpha() and data.draw(st.booleans()) else c for c in word)


def operand(item: Ref | Const, data: st.DataObject) -> str:
    if isinstance(item, Ref):
        return item.path
    if isinstance(item.value, tuple):
        return "[" + ", ".join(constant(v, data) for v in item.value) + "]"
    return constant(item.value, data)


def constant(value: Any, data: st.DataObject) -> str:
    if value is None or isinstance(value, bool):
        return keyword({None: "NULL", True: "TRUE", False: "FALSE"}[value], data)
    if isinstance(value, str):
        quote = data.draw(st.sampled_from(["'", '"']))
        return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
    return repr(value)


@settings(max_examples=300, deadline=None)
@given(TREES, DOCUMENTS, DOCUMENTS, st.data())
def test_generated_expressions_agree_with_the_reference(
    tree: Any, task: dict[str, Any], worker: dict[str, Any], data: st.DataObject
) -> None:
    text = render(tree, data)
    assert parse(text).evaluate({"task": task, "worker": worker, BARE: worker}) is reference(
        tree, task, worker
    )


TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            ["a", "b.c", "[0]", "1", "-2.5", "'x'", '"y', "==", "=", "!", "<", ">=", "(", ")"]
            + ["[", "]", ",", "AND", "or", "NOT", "IN", "HAS", "CONTAINS", "null", "true", " "]
        ),
        max_size=14,
    ).map("".join),
)


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_any_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        expression = parse(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)
    else:
        assert isinstance(expression.evaluate({BARE: {"a": [1], "b": {"c": "x"}}}), bool)
