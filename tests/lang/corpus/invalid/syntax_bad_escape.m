// expect: 2:5: invalid escape sequence in this string
x = "\N{nope}"
