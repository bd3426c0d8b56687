// expect: 5:1: 'add' is missing 1 argument: 'b'
func add(a, b) {
    return a + b
}
add(1)
