// Literals, operators and precedence.
print(1, 2.5, 2e-5, 1_000, 0x1F, 0b101, .5, 3.)
print("double", 'single', "esc\t\"q\"\n" + 'x', "adjacent " "strings")
print("""triple
quoted""")
print(true, false, none, true, false, none)
print(1 + 2 * 3 - 4 / 2, (1 + 2) * 3, 2 ** 3 ** 2, -2 ** 2, 7 % 3, floordiv(7, 2))
print(1 < 2 < 3, 1 < 2 > 3, 1 == 1.0, 1 != 2, 2 <= 2, 3 >= 4)
print(not true, true and false, false or true, not 1 == 2, 1 if false else 2)
print(2 in [1, 2], 3 not in [1, 2], none is none, 1 is not none)
print(6 & 3, 6 | 3, 6 ^ 3, ~6, 1 << 4, 256 >> 2, +5, --5)
x = 10
y = 3
// 2 is a comment
print(x)
print(x + y)  /* a block comment */  # a hash comment
