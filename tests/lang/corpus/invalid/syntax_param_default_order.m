// expect: 2:15: parameter 'b' needs a default value, since the one before it has one
func f(a = 1, b) { }
