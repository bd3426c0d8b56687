// expect: 2:9: expected '{' or a name, found 'from'
model M from Base { }
