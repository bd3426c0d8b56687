// expect: 2:11: duplicate parameter 'a'
func f(a, a) {
    return a
}
