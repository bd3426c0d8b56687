// expect: 2:21: keyword argument 'sep' is given twice
print(1, sep = ",", sep = ";")
