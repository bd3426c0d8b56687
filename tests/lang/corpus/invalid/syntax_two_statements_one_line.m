// expect: 2:7: expected a new line or ';' or an operator, found the name 'y'
x = 1 y = 2
