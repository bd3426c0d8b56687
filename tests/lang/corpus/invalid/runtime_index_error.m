// expect: 3:7: IndexError: list index out of range
x = [1, 2]
print(x[5])
