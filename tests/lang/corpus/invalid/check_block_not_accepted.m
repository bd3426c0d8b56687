// expect: 5:1: 'plain' does not take a block
func plain(x) {
    return x
}
plain(1) {
    print(2)
}
