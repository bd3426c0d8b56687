// expect: 2:8: this string is never closed
name = "M
print(name)
