// expect: 3:1: 'return' outside a function
x = 1
return x
