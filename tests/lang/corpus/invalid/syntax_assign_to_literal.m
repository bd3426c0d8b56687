// expect: 2:1: cannot assign to a literal
1 = x
