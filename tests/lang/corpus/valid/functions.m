// Functions: defaults, keywords, *rest, **options, spreads, recursion, closures.
func describe(name: str, size: int = 1, *rest, scale: float = 1.0, **options) -> str {
    return f"{name}:{size * scale}:{list(rest)}:{sorted(options.items())}"
}
print(describe("a"))
print(describe("b", 2, 3, 4, scale=0.5, flag=true))
values = [5, 6]
opts = {scale: 2.0}
print(describe("c", *values, **opts))
func fact(n: int) -> int {
    return 1 if n <= 1 else n * fact(n - 1)
}
print(fact(10))
func counter() {
    count = [0]
    func bump() {
        count[0] += 1
        return count[0]
    }
    return bump
}
bump = counter()
bump()
bump()
print(bump())
func swap(a, b) {
    return b, a
}
p, q = swap(1, 2)
print(p, q)
n = 10
n -= 3
n *= 2
n /= 7
n **= 3
n %= 5
print(n)
bits = 12
bits &= 10
bits |= 1
bits ^= 3
bits <<= 2
bits >>= 1
print(bits)
func nothing() {
}
print(nothing())
func keywordOnly(a, *, b=2) {
    return a + b
}
print(keywordOnly(1), keywordOnly(1, b=3))
