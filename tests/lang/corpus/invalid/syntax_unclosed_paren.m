// expect: 3:1: expected an operator, ',' or ')', found the name 'z'
print(1, 2
z = 3
