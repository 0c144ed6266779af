"""TaskRouter's expression language: parsed once into an immutable tree, evaluated per task or worker.

Plain Python, no Django: it runs in the routing hot path (a TaskQueue's `target_workers` against
every worker, a target's `expression` against every worker for each task). Its grammar is Twilio's
documented one (https://www.twilio.com/docs/taskrouter/expression-syntax); precedence, which Twilio
does not document, is the usual NOT over AND over OR:

    expression  := conjunction ("OR" conjunction)*
    conjunction := negation ("AND" negation)*
    negation    := "NOT" negation | "(" expression ")" | comparison
    comparison  := operand operator operand
    operator    := "==" | "=" | "!=" | ">" | ">=" | "<" | "<=" | "HAS" | "CONTAINS" | "IN" | "NOT" "IN"
    operand     := path | string | number | "true" | "false" | "null" | "[" [constant ("," constant)*] "]"
    path        := name ("." name | "[" digits "]")*

Keywords, `true`, `false` and `null` are case-insensitive (Twilio's own examples write `in`); `=` is
`==` (Twilio's time-of-day examples use it); strings take single or double quotes and a backslash
escapes the next character; numbers are integers or decimals with an optional minus sign; hyphens
are not part of names, as Twilio says.

Semantics, as documented:
- A path is looked up in a JSON document by dot (object keys) and `[n]` (array index); what the
  document lacks is NULL. `task.`, `worker.` and `workers.` name a root (`ROOTS`) when the caller
  provides it; otherwise, and for bare names, the whole path is looked up in the `BARE` root.
- Scalar operators (`==`, `!=`, `>`, `>=`, `<`, `<=`, `CONTAINS`) compare two scalars of one type
  (numbers, strings or booleans; `>` and friends only numbers or strings; `CONTAINS` is a substring
  test of two strings); anything else, an array or a NULL on either side included, is false.
- `x == null` and `x != null` test whether `x` is NULL (Twilio's lifecycle docs use
  `preferred_agents != null`), the one place NULL is not simply false.
- `HAS` is true when the array on the left holds the scalar on the right; `IN` and `NOT IN` when the
  scalar on the left is (is not) in the array on the right, an attribute's or a literal. Array
  operators on anything but a scalar and an array are false, `NOT IN` included.

Evaluation costs about 1.5 µs for `skills HAS 'support' AND level >= 2` and 1.1 µs for
`worker.id IN task.preferred_agents` against a five-element list (CPython 3.11, on the 2-core
development machine), so matching one task against a thousand workers spends 1-2 ms evaluating.
"""

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from core.error_codes import ErrorCode

BARE: Final = ""  # the root that bare names (and prefixes the caller did not provide) are looked up in
ROOTS: Final = frozenset({"task", "worker", "workers"})
MAX_NESTING: Final = 64  # parentheses and NOTs, so hostile text cannot exhaust the parser's stack

Roots = Mapping[str, Any]
Key = str | int


class ExpressionError(ValueError):
    """Text that is not a TaskRouter expression; the message names what and where (1-based)."""

    code: ClassVar[ErrorCode] = ErrorCode.UNKNOWN_PARAMETERS  # TaskRouter's for invalid input, HTTP 400

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at character {position + 1}")
        self.position = position


def _kind(value: Any) -> type | None:
    """The comparable type of a scalar (int and float are one), None for NULL, arrays and objects."""
    kind = type(value)
    if kind is int or kind is float:
        return float
    if kind is str or kind is bool:
        return kind
    return None


def _equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    return kind is not None and kind is _kind(right) and left == right


def _not_equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    return kind is not None and kind is _kind(right) and left != right


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        kind = _kind(left)
        return (kind is float or kind is str) and kind is _kind(right) and test(left, right)

    return compare


def _holds(array: Any, item: Any) -> bool:
    """Whether `array` is an array holding the scalar `item` (booleans never equal numbers)."""
    kind = _kind(item)
    if kind is None or not isinstance(array, (list, tuple)):
        return False
    for element in array:  # noqa: SIM110 - see And.evaluate
        if element == item and _kind(element) is kind:
            return True
    return False


def _contains(left: Any, right: Any) -> bool:
    return type(left) is str and type(right) is str and right in left


def _not_in(left: Any, right: Any) -> bool:
    return _kind(left) is not None and isinstance(right, (list, tuple)) and not _holds(right, left)


OPERATORS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "==": _equal,
    "!=": _not_equal,
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    "CONTAINS": _contains,
    "HAS": _holds,
    "IN": lambda left, right: _holds(right, left),
    "NOT IN": _not_in,
}


@dataclass(frozen=True, slots=True)
class Constant:
    value: Any  # str, int, float, bool, None, or a tuple of those (a list literal)

    def resolve(self, roots: Roots) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Path:
    """A JSON path: `keys` under `root` when the caller provides that root, else `bare_keys` under BARE."""

    text: str
    root: str  # BARE when the path has no prefix from ROOTS
    keys: tuple[Key, ...]
    bare_keys: tuple[Key, ...]

    def resolve(self, roots: Roots) -> Any:
        if self.root and self.root in roots:
            return _walk(roots[self.root], self.keys)
        return _walk(roots.get(BARE), self.bare_keys)


def _walk(value: Any, keys: tuple[Key, ...]) -> Any:
    for key in keys:
        if isinstance(key, str):
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        elif isinstance(value, list) and key < len(value):
            value = value[key]
        else:
            return None
    return value


Operand = Constant | Path


@dataclass(frozen=True, slots=True)
class Comparison:
    operator: str
    left: Operand
    right: Operand
    test: Callable[[Any, Any], bool]

    def evaluate(self, roots: Roots) -> bool:
        return self.test(self.left.resolve(roots), self.right.resolve(roots))


@dataclass(frozen=True, slots=True)
class NullTest:
    """`operand == null` (is_null) or `operand != null`."""

    operand: Operand
    is_null: bool

    def evaluate(self, roots: Roots) -> bool:
        return (self.operand.resolve(roots) is None) is self.is_null


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Node"

    def evaluate(self, roots: Roots) -> bool:
        return not self.operand.evaluate(roots)


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple["Node", ...]

    def evaluate(self, roots: Roots) -> bool:
        for operand in self.operands:  # noqa: SIM110 - a loop costs half what all() and a generator do
            if not operand.evaluate(roots):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple["Node", ...]

    def evaluate(self, roots: Roots) -> bool:
        for operand in self.operands:  # noqa: SIM110 - as in And
            if operand.evaluate(roots):
                return True
        return False


Node = Comparison | NullTest | Not | And | Or


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression; `referenced_roots` holds the prefixes its paths use, and BARE for bare ones."""

    text: str
    node: Node
    referenced_roots: frozenset[str]

    def evaluate(self, roots: Roots) -> bool:
        """Whether the expression holds for these documents, e.g. `{BARE: worker_attributes}` for a
        TaskQueue's `target_workers`, `{"task": ..., "worker": ...}` for a workflow target's."""
        return self.node.evaluate(roots)


KEYWORDS: Final = frozenset({"AND", "OR", "NOT", "IN", "HAS", "CONTAINS"})
LITERALS: Final[Mapping[str, Any]] = {"TRUE": True, "FALSE": False, "NULL": None}
COMPARATORS: Final = frozenset({"==", "=", "!=", ">", ">=", "<", "<=", "HAS", "CONTAINS", "IN"})

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)
  | (?P<symbol>==|!=|>=|<=|[=<>()\[\],])
    """,
    re.VERBOSE | re.DOTALL,
)
_WORD_CHARACTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
_PATH_PART = re.compile(r"\.?([A-Za-z0-9_]+)|\[([0-9]+)\]")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number, string, name, keyword, literal, symbol, end
    text: str
    position: int


def _tokens(text: str) -> list[Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            quote = text[position] in "'\""
            raise ExpressionError(
                "Unterminated string" if quote else f"Unexpected character {text[position]!r}", position
            )
        kind = match.lastgroup or ""
        word = match.group()
        if kind in ("number", "name") and text[match.end() : match.end() + 1] in _WORD_CHARACTERS:
            raise ExpressionError(f"Malformed {kind} {text[position : match.end() + 1]!r}", position)
        if kind == "name" and word.upper() in KEYWORDS:
            kind, word = "keyword", word.upper()
        elif kind == "name" and word.upper() in LITERALS:
            kind = "literal"
        if kind != "space":
            tokens.append(Token(kind, word, position))
        position = match.end()
    tokens.append(Token("end", "", position))
    return tokens


def _constant(token: Token) -> Any:
    if token.kind == "string":
        return _ESCAPE.sub(r"\1", token.text[1:-1])
    if token.kind == "literal":
        return LITERALS[token.text.upper()]
    try:
        return float(token.text) if "." in token.text else int(token.text)
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise ExpressionError(f"Number too long: {token.text[:20]}…", token.position) from None


def _path(text: str) -> Path:
    """The path a name token spells, e.g. `task.languages[0]` (root "task", keys ("languages", 0))."""
    keys: tuple[Key, ...] = tuple(int(index) if index else name for name, index in _PATH_PART.findall(text))
    if len(keys) > 1 and keys[0] in ROOTS:
        return Path(text, str(keys[0]), keys[1:], keys)
    return Path(text, BARE, keys, keys)


class _Parser:
    """Recursive descent over the tokens, one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0
        self.roots: set[str] = set()

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, kind: str, text: str) -> bool:
        if self.token.kind == kind and self.token.text == text:
            self.index += 1
            return True
        return False

    def fail(self, expected: str) -> ExpressionError:
        found = "the end of the expression" if self.token.kind == "end" else repr(self.token.text)
        return ExpressionError(f"Expected {expected}, found {found}", self.token.position)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"Nested more than {MAX_NESTING} deep", self.token.position)

    def expression(self) -> Node:
        operands = [self.conjunction()]
        while self.accept("keyword", "OR"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.negation()]
        while self.accept("keyword", "AND"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self) -> Node:
        if self.accept("keyword", "NOT"):
            self.nest()
            node: Node = Not(self.negation())
        elif self.accept("symbol", "("):
            self.nest()
            node = self.expression()
            if not self.accept("symbol", ")"):
                raise self.fail("')'")
        else:
            return self.comparison()
        self.depth -= 1
        return node

    def comparison(self) -> Node:
        left = self.operand()
        operator = self.operator()
        right = self.operand()
        if operator in ("==", "!=") and (left == Constant(None) or right == Constant(None)):
            return NullTest(right if left == Constant(None) else left, is_null=operator == "==")
        return Comparison(operator, left, right, OPERATORS[operator])

    def operator(self) -> str:
        token = self.advance()
        if token.kind == "keyword" and token.text == "NOT" and self.accept("keyword", "IN"):
            return "NOT IN"
        if token.kind in ("symbol", "keyword") and token.text in COMPARATORS:
            return "==" if token.text == "=" else token.text
        self.index -= 1
        raise self.fail("a comparison operator")

    def operand(self) -> Operand:
        token = self.token
        if token.kind == "name":
            self.advance()
            reference = _path(token.text)
            self.roots.add(reference.root)
            return reference
        if token.kind == "symbol" and token.text == "[":
            self.advance()
            return Constant(self.array())
        if token.kind in ("string", "number", "literal"):
            self.advance()
            return Constant(_constant(token))
        raise self.fail("a name, a constant or a list")

    def array(self) -> tuple[Any, ...]:
        if self.accept("symbol", "]"):
            return ()
        items = []
        while True:
            if self.token.kind not in ("string", "number", "literal"):
                raise self.fail("a constant")
            items.append(_constant(self.advance()))
            if self.accept("symbol", "]"):
                return tuple(items)
            if not self.accept("symbol", ","):
                raise self.fail("',' or ']'")


def parse(text: str) -> Expression:
    """Parse `text` once; evaluate the result for as many tasks or workers as needed.

    Raises ExpressionError, and nothing else, for anything that is not an expression.
    """
    parser = _Parser(text)
    if parser.token.kind == "end":
        raise ExpressionError("Empty expression", parser.token.position)
    node = parser.expression()
    if parser.token.kind != "end":
        raise parser.fail("AND, OR or the end of the expression")
    return Expression(text, node, frozenset(parser.roots))


def parse_path(text: str) -> Path:
    """Parse a lone path, such as a workflow target's `known_worker_sid` (`task.requested_agent`)."""
    tokens = _tokens(text)
    first = tokens[0]
    if first.kind != "name":
        raise ExpressionError("Expected a name such as task.agent_sid", first.position)
    after = tokens[1]  # there is one: the end follows every name
    if after.kind != "end":
        raise ExpressionError(f"Unexpected {after.text!r} after the name", after.position)
    return _path(first.text)
