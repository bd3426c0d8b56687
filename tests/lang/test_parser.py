"""The parser: AST shapes, spans, precedence, soft keywords, and worded syntax errors."""
import pytest

from mlang.lang import ast as m
from mlang.lang import parse, parse_expression
from mlang.lang.diagnostics import MSyntaxError


def test_model_declaration_ast():
    module = parse("""model Tagger extends TextClassifier {
    encoder: Model[Text -> Tensor[float32, B, 384]]
    num_labels = 3
    Dense(num_labels, activation="softmax")
    forward(x) { return x }
}""", "tagger.m")
    decl = module.body[0]
    assert isinstance(decl, m.ModelDecl)
    assert (decl.kind, decl.name, decl.base, decl.filename) == ("model", "Tagger", "TextClassifier", "tagger.m")
    encoder, labels = decl.fields
    assert encoder.type.name == "Model" and isinstance(encoder.type.args[0], m.TypeArrow)
    tensor = encoder.type.args[0].output
    assert [a.name if isinstance(a, m.TypeName) else a.value for a in tensor.args] == ["float32", "B", 384]
    assert labels.type is None and isinstance(labels.default, m.Constant) and labels.default.value == 3
    assert decl.layers[0].call.func.id == "Dense"
    assert [p.name for p in decl.forward.params] == ["x"]
    assert (decl.span.line, decl.span.column, decl.base_span.column) == (1, 1, 22)


def test_every_node_has_a_span():
    module = parse("x = [a + 1 for a in range(3) if a]\nprint(f'{x!r:>5}', k={'a': 1})\n", "s.m")
    for node in m.walk(module):
        if node is not module:
            assert node.span is not None and node.span.file == "s.m", node


@pytest.mark.parametrize("source, grouped", [
    ("a or b and not c == d", "(a or (b and (not (c == d))))"),
    ("-x ** 2 * 3 + 1", "(((-(x ** 2)) * 3) + 1)"),
    ("1 < x <= 3 | 4", "(1 < x <= (3 | 4))"),
    ("a if b else c if d else e", "(a if b else (c if d else e))"),
])
def test_operator_precedence_matches_python(source, grouped):
    def show(e):
        if isinstance(e, m.BinOp):
            return f"({show(e.left)} {e.op} {show(e.right)})"
        if isinstance(e, m.UnaryOp):
            inner = show(e.operand)
            return f"(not {inner})" if e.op == "not" else f"({e.op}{inner})"
        if isinstance(e, m.BoolOp):
            return "(" + f" {e.op} ".join(show(v) for v in e.values) + ")"
        if isinstance(e, m.Compare):
            parts = [show(e.left)] + [f"{op} {show(c)}" for op, c in zip(e.ops, e.comparators)]
            return "(" + " ".join(parts) + ")"
        if isinstance(e, m.IfExp):
            return f"({show(e.body)} if {show(e.test)} else {show(e.orelse)})"
        return e.id if isinstance(e, m.Name) else repr(e.value)
    assert show(parse_expression(source)) == grouped


def test_trailing_block_attaches_to_the_call():
    module = parse('small = optimize(clf, goal="speed") {\n    prune(0.2)\n    quantize(8)\n}\n')
    call = module.body[0].value
    assert call.func.id == "optimize" and [k.name for k in call.keywords] == ["goal"]
    assert [s.value.func.id for s in call.block] == ["prune", "quantize"]


def test_braces_after_an_operator_are_a_dict_and_newlines_inside_brackets_are_ignored():
    module = parse("d = {\n  lr: 1,\n  'x': [\n 2,\n ]\n}\nif d == {} { print(1) }\n")
    assign, branch = module.body
    assert isinstance(assign.value, m.DictLit) and assign.value.keys[0].value == "lr"
    assert isinstance(branch, m.If) and isinstance(branch.test.comparators[0], m.DictLit)


def test_else_may_start_the_next_line_and_semicolons_separate():
    module = parse("if a { x = 1 }\nelse if b { x = 2 }\nelse { x = 3 }; y = 4")
    assert isinstance(module.body[0].orelse[0], m.If) and len(module.body) == 2


@pytest.mark.parametrize("source, where, message", [
    ("x = (1 +\n", "1:9", "expected an expression, found the end of the file"),
    ("print(1 2)", "1:9", "expected an operator, ',' or ')', found the number 2"),
    ("func f(a b) { }", "1:10", "expected ':', '=', ',' or ')', found the name 'b'"),
    ("if a {\n} elif b {\n}", "2:3", "expected 'else' or a new line or ';', found the name 'elif'"),
    ("model M extends { }", "1:17", "expected a name, found '{'"),
    ('x = "abc', "1:5", "this string is never closed"),
])
def test_syntax_errors_say_what_was_expected_in_words(source, where, message):
    with pytest.raises(MSyntaxError) as caught:
        parse(source, "e.m")
    d = caught.value.diagnostics[0]
    assert (f"{d.span.line}:{d.span.column}", d.message) == (where, message)
    text = caught.value.format(source)
    assert text.startswith(f"e.m:{where}: error: {message}") and "^" in text


@pytest.mark.parametrize("source, where, hint", [
    ("def f(x) {\n    return x\n}\n", "1:5", "M declares a function with `func`: func name(parameters) { ... }"),
    ("if a {\n} elif b {\n}\n", "2:3", "M writes `else if`, not `elif`"),
    ("if a {\n}\nelif b {\n}\n", "3:6", "M writes `else if`, not `elif`"),
    ("if x > 1:\n    print(x)\n", "1:9", "a block in M is written in braces, not after ':' and an indent: if x { ... }"),
    ("for i in range(3):\n    print(i)\n", "1:18", "for x in xs { ... }"),
    ("func f(x):\n    return x\n", "1:10", "func f(x) { ... }"),
    ("if a {\n} else:\n    b()\n", "2:7", "else { ... }"),
    ("half = f(n // 2)\nprint(half)\n", "2:1", "for floor division write floordiv(a, b)"),
    ("xs = [n // 2, n]\n", "1:17", "for floor division write floordiv(a, b)"),
    ("print(1, 2\nz = 3\n", "2:1", "the '(' on line 1 is never closed"),
    ("func f(x) {\n    return x\n", "2:13", "the '{' on line 1 is never closed"),
    ("f = lambda x: x\n", "1:12", "M has no `lambda`"),
])
def test_syntax_errors_name_the_python_habit_that_led_there(source, where, hint):
    with pytest.raises(MSyntaxError) as caught:
        parse(source, "e.m")
    d = caught.value.diagnostics[0]
    assert f"{d.span.line}:{d.span.column}" == where and d.message.startswith("expected ")
    assert hint in d.hint
    assert hint in caught.value.format(source)


def test_a_valid_floor_division_lookalike_is_a_comment():
    assert len(parse("x = 7 // 2\n").body) == 1  # `x = 7`, then a comment: no error, nothing to hint


def test_a_dict_after_else_in_a_conditional_expression():
    value = parse("cfg = overrides if overrides else {}\n").body[0].value
    assert isinstance(value, m.IfExp) and isinstance(value.orelse, m.DictLit)
    value = parse("x = {} if a else {1: 2}\n").body[0].value
    assert isinstance(value.body, m.DictLit) and value.orelse.keys[0].value == 1
    statement = parse("if a {\n} else {\n    x = 1\n}\n").body[0]  # `} else {` still opens a block
    assert isinstance(statement, m.If) and isinstance(statement.orelse[0], m.Assign)


def test_a_byte_order_mark_is_not_part_of_the_program():
    module = parse("\ufeffx = 1\nprint(x)\n", "bom.m")
    assert [type(s).__name__ for s in module.body] == ["Assign", "ExprStmt"]
    assert (module.body[0].span.line, module.body[0].span.column) == (1, 1)
    with pytest.raises(MSyntaxError):
        parse("x = 1\n\ufeffprint(x)\n")  # only at the very start


def test_f_string_parsing_is_linear_in_its_length():
    import time

    field_lines = "text {x} and {x + 1} and {{braces}}\n" * 8000  # 300 KB over 8,000 lines
    source = f'x = 1\ny = f"""{field_lines}"""\n'
    start = time.perf_counter()
    value = parse(source).body[1].value
    elapsed = time.perf_counter() - start
    assert len(value.parts) == 8000 * 4 + 1 and elapsed < 5  # quadratic: minutes
    last = value.parts[-2]  # `{x + 1}` on the f-string's last line, as the parser spans it
    assert isinstance(last, m.FormattedValue) and (last.span.line, last.span.column) == (8001, 15)


def test_nesting_deeper_than_the_limit_is_a_syntax_error_not_a_crash():
    from mlang.lang.lexer import MAX_NESTING

    parse("x = " + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING)
    with pytest.raises(MSyntaxError) as caught:
        parse("x = " + "(" * 1000 + "1" + ")" * 1000, "deep.m")
    assert str(caught.value.span) == f"deep.m:1:{5 + MAX_NESTING}"
    assert "nest more than" in caught.value.diagnostics[0].message and caught.value.diagnostics[0].hint


def test_a_decimal_number_too_long_for_python_is_a_worded_error():
    with pytest.raises(MSyntaxError) as caught:
        parse("x = " + "9" * 5000 + "\n", "n.m")
    diagnostic = caught.value.diagnostics[0]
    assert str(diagnostic.span) == "n.m:1:5" and diagnostic.message.startswith("this number has 5000 digits")
    assert parse("x = 0x" + "f" * 5000 + "\n").body[0].value.value == 16 ** 5000 - 1  # hex has no limit
