// expect: 2:7: a block `{ ... }` here must follow a call
x = 3 { print(1) }
