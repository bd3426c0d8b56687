// expect: 2:1: 'print' does not take a block
print(1) {
    2
}
