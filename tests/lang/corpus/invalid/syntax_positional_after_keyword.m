// expect: 2:16: a positional argument cannot follow a keyword argument
print(sep=",", 1)
