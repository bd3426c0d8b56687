"""Hypothesis strategies for M source: programs in the grammar, written with untidy layout.

`programs()` draws a whole program: statements of every kind (assignments, `if`/`else if`,
loops, functions, models, imports, calls with trailing blocks), expressions of every kind
(operators, conditional expressions, calls, literals, comprehensions, f-strings nested up to
three deep), and layout that `m fmt` must tidy without changing the program: stray spaces,
newlines and comments inside brackets, `;` separators, blank lines, comments after code and
on lines of their own, block comments spanning lines, and characters other tools take for line
ends (form feed, U+2028, U+0085) inside comments and strings.

Names used are bound at the top of each program (`x = 1`, `func f(*a, **k)`), so that many
drawn programs pass `m check` and exercise the compiler too.
"""
from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st


# Strategies are built once per argument: building one costs more than drawing from it.
@lru_cache(maxsize=None)
def _ints(low: int, high: int):
    return st.integers(low, high)


@lru_cache(maxsize=None)
def _pick(choices: tuple):
    return st.sampled_from(choices)


_BOOLS = st.booleans()


def _cached(strategy_function):
    """`@st.composite` strategies with arguments, each built once per distinct argument."""
    return lru_cache(maxsize=None)(strategy_function)

NAMES = ["x", "y", "data", "model", "forward", "python", "extends", "é", "Ωmega", "_private", "n2"]
PRELUDE = ("x = 1\ny = 2\ndata = [1, 2, 3]\nmodel = 4\nforward = 5\npython = 6\nextends = 7\né = 8\n"
           "Ωmega = 9\n_private = 10\nn2 = 11\nfunc f(*a, **k) {\n    return a\n}\n")
# Characters that must survive inside comments and strings.
ODD = ["\f", "\u2028", "\u2029", "\x85", "\x0b", "\t", "é", "🙂", "\\", "{", "}", "*", "/", "#", '"', "'"]

names = st.sampled_from(NAMES)
_TARGETS = st.sampled_from(NAMES + ["x.attr", "data[0]", "x, y", "[x, y]"])
numbers = st.one_of(
    st.integers(min_value=0, max_value=10 ** 30).map(str),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0x1F", "0XfF", "0b101", "1_000", ".5", "1.", "2e-5", "1E+3", "1e999", "0x" + "f" * 120]),
)
_text = st.text(alphabet=st.one_of(st.sampled_from(ODD), st.characters(codec="utf-8", exclude_categories=["Cs"])),
                max_size=12)


def _escape(value: str, quote: str) -> str:
    """A body for a single-line literal between `quote`s with the value `value`."""
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + quote)
        elif ch in "\n\r\x00":
            out.append({"\n": "\\n", "\r": "\\r", "\x00": "\\x00"}[ch])
        else:
            out.append(ch)
    return "".join(out)


@_cached
@st.composite
def strings(draw, avoid: str = "") -> str:
    """A string literal using neither quote character in `avoid` (inside an f-string field)."""
    quotes = [q for q in ('"', "'") if q not in avoid]
    if not quotes:
        return draw(numbers)
    quote = draw(st.sampled_from(quotes))
    value = draw(_text)
    if avoid:  # a field's text: no quote characters, no backslashes (the field ends at them)
        value = "".join(ch for ch in value if ch not in "\"'\\\n\r\x00{}")
        return quote + value + quote
    if draw(_BOOLS) and quote * 3 not in value and not value.endswith(quote):
        triple = quote * 3
        body = value.replace("\\", "\\\\").replace("\r", "\\r").replace("\x00", "\\x00")
        return triple + body + triple
    return quote + _escape(value, quote) + quote


@_cached
@st.composite
def fstrings(draw, avoid: str = "", depth: int = 0) -> str:
    """An f-string whose fields are expressions, holding strings and f-strings up to three
    levels deep (quotes chosen so that the lexer can read them, as a person would)."""
    if not avoid and depth == 0 and draw(_ints(0, 9)) == 0:
        # three levels: a triple-quoted outer string, as in f\"\"\"{f'{"a"}'}\"\"\"
        inner = draw(strings(avoid="'")) if draw(_BOOLS) else draw(names)
        return "f\"\"\"{f'{" + inner + "}'}\"\"\""
    quotes = [q for q in ('"', "'") if q not in avoid]
    if not quotes:
        return draw(names)
    quote = draw(st.sampled_from(quotes))
    parts = []
    for _ in range(draw(_ints(0, 4))):
        if draw(_BOOLS):
            text = draw(_text)
            text = "".join(ch for ch in text if ch not in "\\\n\r\x00" + quote + avoid)
            parts.append(text.replace("{", "{{").replace("}", "}}"))
        else:
            field = draw(expressions(depth=2, avoid=avoid + quote))
            if field.startswith("{"):
                field = " " + field
            field += draw(_pick(("", "", "!r", "!s", ":>8", ":.3", "!r:^5")))
            parts.append("{" + field + "}")
    return "f" + quote + "".join(parts) + quote


def _gap(draw, inside: bool) -> str:
    """What may stand between two tokens: blanks, and inside brackets also newlines and comments."""
    choices = [" ", " ", "  ", "\t", " /* c */ "]
    if inside:
        choices += ["\n", "\n    ", " // note\n", " # note\f x\n", " /* two\n lines */ ", "\n\n"]
    return draw(st.sampled_from(choices))


def _operand(text: str) -> str:
    """`text` where the grammar wants an operator chain, not a conditional expression (the two
    sides of `a if b else c` before the else, a comprehension's iterable and condition)."""
    return f"({text})" if " if " in text else text


_BINARY = ["+", "-", "*", "/", "%", "@", "**", "<<", ">>", "&", "|", "^", "and", "or", "<", ">", "==", "!=",
           "<=", ">=", "in", "not in", "is", "is not"]


@_cached
@st.composite
def expressions(draw, depth: int = 0, avoid: str = "", inside: bool = False) -> str:
    """An expression.  `avoid`: quote characters it must not use (inside f-string fields);
    `inside`: whether it is inside brackets, where newlines and comments may come between tokens."""
    in_field = bool(avoid)
    gap = (lambda: " ") if in_field else (lambda: _gap(draw, inside))
    items_gap = (lambda: " ") if in_field else (lambda: _gap(draw, True))
    atoms = [names, numbers, st.sampled_from(["true", "false", "none", "True", "False", "None", "()", "[]"])]
    if not in_field or len(avoid) < 2:
        atoms.append(strings(avoid=avoid))
    if depth < 3:
        atoms.append(fstrings(avoid=avoid, depth=depth))
    if depth >= 3:
        return draw(st.one_of(atoms))
    kind = draw(_ints(0, 14))
    sub = lambda inner=inside: expressions(depth=depth + 1, avoid=avoid, inside=inner)  # noqa: E731
    if kind <= 2:
        return draw(st.one_of(atoms))
    if kind == 3:
        op = draw(st.sampled_from(_BINARY))
        return f"{draw(sub())} {op}{gap()}{draw(sub())}"
    if kind == 4:
        count = draw(_ints(2, 40))
        op = draw(_pick(("+", "-", "*", "and", "or", "<", "|")))
        return f" {op} ".join(draw(names) for _ in range(count))
    if kind == 5:
        return draw(_pick(("-", "+", "~", "not ", "- -", "not not "))) + draw(sub())
    if kind == 6:  # a conditional expression, maybe a chain, maybe ending in a dict
        text = _operand(draw(sub()))
        for _ in range(draw(_ints(0, 3))):  # `a if x else b if y else ...`
            text += f" if {_operand(draw(sub()))} else {_operand(draw(sub()))}"
        last = draw(_pick(("{}", "({})", "{1: 2}", "[]"))) if draw(_BOOLS) else draw(sub())
        return text + f" if {_operand(draw(sub()))} else {last}"
    if kind == 7:  # a call, with positional, keyword, * and ** arguments
        args = [draw(sub(True)) for _ in range(draw(_ints(0, 4)))]
        args += [f"{draw(names)}={draw(sub(True))}" for _ in range(draw(_ints(0, 2)))]
        if draw(_BOOLS):
            args.append("*" + draw(names))
        if draw(_BOOLS):
            args.append("**" + draw(names))
        comma = draw(_pick(("", ","))) if args else ""
        callee = draw(_pick(("f", "print", "len", "x.real.conjugate", "data.copy"))) if not in_field else "f"
        return callee + "(" + ("," + items_gap()).join(args) + comma + ")"
    if kind == 8:  # attributes, calls and indexes in a chain
        text = draw(names)
        for _ in range(draw(_ints(1, 12))):
            text += draw(_pick((".real", ".copy()", "[0]", "[1:2]", "[::2]", "[x, y]", "(x)")))
        return text
    if kind == 9:
        opening, closing = draw(_pick((("[", "]"), ("(", ")"), ("{", "}"))))
        items = [draw(sub(True)) for _ in range(draw(_ints(1 if opening == "{" else 0, 5)))]
        comma = "," if opening == "(" and len(items) == 1 else draw(_pick(("", ","))) if items else ""
        return opening + ("," + items_gap()).join(items) + comma + closing
    if kind == 10:
        keys = [draw(st.one_of(names, strings(avoid=avoid) if len(avoid) < 2 else numbers, numbers))
                for _ in range(draw(_ints(0, 4)))]
        items = [f"{k}:{gap()}{draw(sub(True))}" for k in keys]
        return "{" + ("," + items_gap()).join(items) + "}"
    if kind == 11:
        target = draw(_pick(("i", "i, j", "(i, j)")))
        condition = f" if {_operand(draw(sub(True)))}" if draw(_BOOLS) else ""
        if draw(_BOOLS):
            return f"[{draw(sub(True))} for {target} in {_operand(draw(sub(True)))}{condition}]"
        return f"{{{draw(sub(True))}: {draw(sub(True))} for {target} in data{condition}}}"
    if kind == 12:
        return "(" + items_gap() + draw(sub(True)) + items_gap() + ")"
    if kind == 13:
        return f"{draw(names)}[{draw(sub(True))}:{draw(sub(True))}]"
    return draw(sub()) + " ** " + draw(sub())


@st.composite
def comments(draw) -> str:
    text = "".join(draw(st.lists(st.sampled_from(ODD + ["a", " ", "code = 1", "*/", "/*"]), max_size=6)))
    text = text.replace("\n", "").replace("\r", "")
    kind = draw(_ints(0, 2))
    if kind == 0:
        return "//" + text
    if kind == 1:
        return "#" + text
    body = text.replace("*/", "* /")
    return "/*" + body + draw(_pick(("", "\n   more", "\n\n"))) + "*/"


@_cached
@st.composite
def statements(draw, depth: int = 0, in_loop: bool = False, in_function: bool = False) -> list[str]:
    """One statement as its lines (compound statements hold their blocks' lines, indented)."""
    kind = draw(_ints(0, 12 if depth < 2 else 4))
    expr = lambda: draw(expressions())  # noqa: E731
    target = lambda: draw(_TARGETS)  # noqa: E731
    if kind == 0:
        return [f"{target()} = {expr()}"]
    if kind == 1:
        return [f"{draw(names)} {draw(_pick(('+=', '-=', '*=', '**=', '|=')))} {expr()}"]
    if kind == 2:
        return [expr()]
    if kind == 3:
        words = (["break", "continue"] if in_loop else []) + (["return", f"return {expr()}"] if in_function else [])
        return [draw(st.sampled_from(words))] if words else [f"print({expr()})"]
    if kind == 4:
        return [f"{target()} = {expr()}; {expr()}"]
    body = lambda loop=in_loop, function=in_function: blocks(depth + 1, loop, function)  # noqa: E731
    if kind == 5:
        lines = [f"if {expr()} {{", *draw(body()), "}"]
        for _ in range(draw(_ints(0, 3))):
            lines[-1] = f"}} else if {expr()} {{"
            lines += [*draw(body()), "}"]
        if draw(_BOOLS):
            lines[-1] = draw(_pick(("} else {", "}\nelse {")))
            lines += [*draw(body()), "}"]
        return lines
    if kind == 6:
        return [f"while {expr()} {{", *draw(body(loop=True)), "}"]
    if kind == 7:
        return [f"for {draw(_pick(('i', 'i, j', 'x.attr')))} in {expr()} {{", *draw(body(loop=True)), "}"]
    if kind == 8:
        params = draw(_pick(("", "a", "a, b=1", "a: int, b: List[int] = [1]", "*args, **kw", "a, *, b",
                                       "a: Tensor[float32, B, 3]", "_block")))
        returns = draw(_pick(("", " -> int", " -> Model[Text -> Tensor]")))
        return [f"func g{depth}({params}){returns} {{", *draw(body(loop=False, function=True)), "}"]
    if kind == 9:
        head = draw(_pick(("model M", "metamodel Base", "model Child extends Base")))
        items = draw(st.lists(st.sampled_from(["Dense(3)", "ReLU()", "size: int = 2", "rate = 0.5",
                                               "input: Image[3, 8, 8]", "forward(z) {\n    return z\n}"]),
                              max_size=4, unique=True))
        return [head + " {", *("    " + item.replace("\n", "\n    ") for item in items), "}"]
    if kind == 10:
        return [draw(_pick(("import python math", "import python os.path as p",
                                      'import "lib.m" as lib', 'from "lib.m" import a, b as c')))]
    if kind == 11:
        return [f"f({expr()}) {{", *draw(body(loop=False)), "}"]
    return [f"{target()} = {expr()}  {draw(comments())}"]


@_cached
@st.composite
def blocks(draw, depth: int = 0, in_loop: bool = False, in_function: bool = False) -> list[str]:
    lines = []
    for _ in range(draw(_ints(0, 3))):
        if draw(_ints(0, 3)) == 0:
            lines.append(draw(comments()))
        if draw(_ints(0, 4)) == 0:
            lines.append("")
        lines.extend(draw(statements(depth, in_loop, in_function)))
    return ["    " + line.replace("\n", "\n    ") if line else "" for line in lines]


@st.composite
def programs(draw) -> str:
    """A whole program: the prelude that binds the names, then drawn statements."""
    lines = []
    for _ in range(draw(_ints(1, 4))):
        if draw(_ints(0, 3)) == 0:
            lines.append(draw(comments()))
        if draw(_BOOLS):
            lines.append("")
        lines.extend(draw(statements()))
    end = draw(_pick(("\n", "", "\n\n", "  // last\n")))
    return PRELUDE + "\n".join(lines) + end
