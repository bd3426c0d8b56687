// expect: 5:11: 'add' takes at most 2 arguments, but 3 were given
func add(a, b) {
    return a + b
}
add(1, 2, 3)
