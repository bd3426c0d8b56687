// expect: 2:7: this block comment is never closed
x = 1 /* never
closed
