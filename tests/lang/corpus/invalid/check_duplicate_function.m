// expect: 5:1: 'f' is already declared on line 2
func f() {
    return 1
}
func f() {
    return 2
}
