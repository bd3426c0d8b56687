// expect: 2:10: expected an operator or '{', found the name 'print'
if x > 1 print(x)
