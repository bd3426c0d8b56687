// expect: 5:10: 'scale' has no parameter named 'factr'
func scale(x, factor=2) {
    return x * factor
}
scale(1, factr=3)
