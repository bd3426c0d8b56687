// expect: 7:9: 'break' cannot leave a block
func run(_block) {
    return _block()
}
for i in range(3) {
    run() {
        break
    }
}
