// expect: 2:11: 'Strng' is not a type
func f(x: Strng) -> int {
    return 1
}
