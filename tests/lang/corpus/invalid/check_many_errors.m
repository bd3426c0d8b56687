// expect: 8:7: undefined name 'undefined_one'
// expect: 9:6: 'f' takes at most 1 argument, but 2 were given
// expect: 10:1: 'break' outside a loop
// expect: 11:7: undefined name 'undefined_two'
func f(a) {
    return a
}
print(undefined_one)
f(1, 2)
break
print(undefined_two)
