// expect: 3:9: expected an expression, found ')'
x = 1
y = (2 +)

