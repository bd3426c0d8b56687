// expect: 2:19: keyword argument 'sep' is given twice
print(1, sep=",", sep=";")
