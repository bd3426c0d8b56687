// expect: 4:5: model 'M' declares forward twice
model M {
    forward(x) { return x }
    forward(y) { return y }
}
