// expect: 2:7: unexpected character '$'
x = 3 $ 4
