// expect: 5:10: 'scale' got two values for 'x'
func scale(x, factor=2) {
    return x * factor
}
scale(1, x=3)
