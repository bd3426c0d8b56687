// expect: 3:16: undefined name 'b'
func f(a) {
    return a + b
}
