// expect: 3:7: undefined name 'totl'
total = 0
print(totl + 1)
