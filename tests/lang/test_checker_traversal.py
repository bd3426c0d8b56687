"""The checker visits every node once: every call is recorded for the plugins, and errors in odd
places (after a repeated keyword, in a comprehension's target) are found like any other."""
import mlang.lang as lang
from mlang.lang import ast as m
from mlang.lang.parser import parse

EVERY_KIND_OF_PLACE = """import python math
func f(a, b = g(1), *, key = h(2)) -> int {
    for i, v in enumerate(zip([p(i) for i in range(3)], {k(1): w(2)})) {
        if q(v) and not r(i) { continue } else if s(i) < t(2) <= u(3) { break }
    }
    while cond() { x = [1, 2][lo():hi():step()] }
    return a if yes() else no()
}
metamodel M {
    width: int = size(3)
    Dense(width)
    forward(x) { return helper(x) + -neg(x) }
}
data = {"a": (one(), spread(*rest())), "b": {two(), three()}}
withBlock(outer(inner(1))) {
    nested(f"{formatted(1)!r:>4}")
}
data[index(1)].attr = value(1)
print(1, sep=sep1(), sep=sep2(), end=after(3))
"""

NAMES_CALLED = {"g", "h", "enumerate", "zip", "p", "range", "k", "w", "q", "r", "s", "t", "u", "cond", "lo",
                "hi", "step", "yes", "no", "size", "Dense", "helper", "neg", "one", "spread", "rest", "two", "three",
                "withBlock", "outer", "inner", "nested", "formatted", "index", "value", "print", "sep1", "sep2",
                "after"}


def test_every_call_of_a_name_is_recorded_with_its_module_level_statement(check_context):
    module = parse(EVERY_KIND_OF_PLACE, "calls.m")
    ctx = check_context(EVERY_KIND_OF_PLACE)
    walked = [n for n in m.walk(module) if isinstance(n, m.Call) and isinstance(n.func, m.Name)]
    assert sorted(site.name for site in ctx.calls) == sorted(c.func.id for c in walked)
    assert {site.name for site in ctx.calls} == NAMES_CALLED
    statement_of = {site.name: site.statement for site in ctx.calls}
    assert isinstance(statement_of["helper"], m.ModelDecl)
    assert isinstance(statement_of["nested"], m.ExprStmt) and statement_of["nested"].value.func.id == "withBlock"
    assert isinstance(statement_of["index"], m.Assign)


def test_calls_are_recorded_innermost_first_and_statements_in_order(check_context):
    ctx = check_context("a = outer(middle(inner()), last())\nb = second()\n")
    assert [site.name for site in ctx.calls] == ["inner", "middle", "last", "outer", "second"]
    assert [site.statement.target.id for site in ctx.calls] == ["a", "a", "a", "a", "b"]


def test_a_repeated_keyword_does_not_hide_errors_in_the_later_arguments():
    found = [(d.span.line, d.message) for d in lang.check_source("print(1, sep=1, sep=2, end=missing)\n", "k.m")]
    assert found == [(1, "keyword argument 'sep' is given twice"), (1, "undefined name 'missing'")]


def test_a_comprehension_target_that_stores_into_a_value_reads_that_value():
    found = [d.message for d in lang.check_source("xs = [1 for table[key] in [[0]]]\n", "t.m")]
    assert found == ["undefined name 'table'", "undefined name 'key'"]
