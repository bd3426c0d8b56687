// expect: 2:18: expected '{' or 'if', found the name 'print'
if true { } else print(1)
