// expect: 2:1: cannot assign to a call
f(x) = 3
