// expect: 6:5: 'return' cannot be used inside a block
func run(_block) {
    return _block()
}
run() {
    return 1
}
