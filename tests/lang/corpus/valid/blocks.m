// Trailing blocks: f(args) { stmts } passes `_block`, a function running stmts in the caller's scope.
func collect(label, _block) {
    values = _block()
    return f"{label}: {values}"
}
steps = 0
result = collect("first") {
    steps += 1
    "a"
    print("side effect")
    1 + 1
}
print(result, steps)
func repeat(times, _block) {
    for i in range(times) {
        _block()
    }
}
func tally() {
    hits = 0
    repeat(3) {
        hits = hits + 1
    }
    return hits
}
print(tally())
outer = collect("nested") {
    collect("inner") {
        42
    }
}
print(outer)
