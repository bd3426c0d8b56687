// expect: 2:14: expected an expression inside '{ }' in this f-string
x = f"value: {}"
