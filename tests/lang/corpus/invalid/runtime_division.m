// expect: 3:12: ZeroDivisionError: division by zero
func ratio(a, b) {
    return a / b
}
print(ratio(1, 0))
