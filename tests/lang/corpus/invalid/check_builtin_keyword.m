// expect: 2:22: 'sorted' has no parameter named 'reversed'
print(sorted([2, 1], reversed=true))
