xs = [3, 1, 2]
print(
    len(xs),
    min(xs),
    max(xs),
    sum(xs),
    abs(-2),
    round(2.567, 2),
    str(5) + "!",
    int("7"),
    float("1.5"),
    bool(0),
)
print(
    list(range(3)),
    dict(a=1),
    tuple(xs),
    set([1, 1]),
    list(enumerate("ab")),
    list(zip(xs, "abc")),
)
print(
    sorted(xs),
    list(reversed(xs)),
    list(map(str, xs)),
    list(filter(bool, [0, 1, 2])),
    any(xs),
    all([]),
)
print(isinstance(1, int), type("s") == str, divmod(7, 2), pow(2, 5), chr(65), ord("A"))
