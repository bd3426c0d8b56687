"""`m check`: every statement of an `optimize(...) { ... }` block is a pass."""
from mlang.lang.api import check_source

MODEL = """\
model Net {
    input: Tensor[float32, B, 4]
    Dense(3)
}
net = Net()
"""


def test_a_statement_that_is_not_a_pass_is_an_error_at_its_line():
    found = check_source(MODEL + """\
small = optimize(net) {
    quantize(bits=8)
    print("this would run while the block is read")
    x = 3
}
""", "block.m")
    assert [(d.span.line, d.span.column) for d in found] == [(8, 5), (9, 5)]
    assert all("optimize block lists passes" in d.message for d in found)


def test_passes_in_a_block_and_a_block_inside_a_function_check_clean():
    assert check_source(MODEL + """\
func shrink(model) {
    small = optimize(model, goal="memory") {
        prune(strategy="l1", percentage=0.2, scope="global", target="weights")
        quantize(bits=8)
        fuse()
    }
    return small
}
small = shrink(net)
""", "block.m") == []
