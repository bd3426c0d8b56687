// expect: 6:7: undefined name 'undefined_one'
// expect: 7:6: 'f' takes at most 1 argument, but 2 were given
// expect: 8:1: 'break' outside a loop
// expect: 9:7: undefined name 'undefined_two'
func f(a) { return a }
print(undefined_one)
f(1, 2)
break
print(undefined_two)
