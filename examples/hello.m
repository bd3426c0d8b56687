// hello.m: a first M program.  Run it with `m run examples/hello.m -- Ada`.
func greet(name: str, punctuation: str = "!") -> str {
    return f"Hello, {name}{punctuation}"
}

names = args if len(args) > 0 else ["world"]
for name in names {
    print(greet(name))
}
