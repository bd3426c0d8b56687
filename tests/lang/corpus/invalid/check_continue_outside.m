// expect: 3:5: 'continue' outside a loop
func f() {
    continue
}
