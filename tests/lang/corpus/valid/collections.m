// Lists, tuples, dicts (bare-name keys are strings), sets, indexing, slices, comprehensions.
xs = [1, 2, 3, 4, 5]
t = 1, "a"
one = 7,
empty = ()
d = {lr: 0.01, "batch size": 16, 1 + 1: "two"}
s = {3, 1, 2}
print(xs[0], xs[-1], xs[1:3], xs[::2], xs[:2], xs[3:], t[1], len(one), len(empty))
print(d["lr"], d["batch size"], d[2], sorted(s), {}, [])
grid = [[r * 3 + c for c in range(3)] for r in range(2)]
print(grid, grid[1][2])
squares = {n: n * n for n in range(5) if n % 2 == 0}
print(squares)
pairs = [(a, b) for a in range(3) for b in range(3) if a < b if b != 2]
print(pairs)
matrix = [1, 2]
config = {name: "demo", sizes: [1, 2]}
print(matrix, config)
a, b = 1, 2
a, b = b, a
[c, d2] = [3, 4]
print(a, b, c, d2)
xs[0] = 100
d["lr"] = 0.5
print(xs, d["lr"])
