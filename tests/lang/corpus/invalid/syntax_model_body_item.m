// expect: 4:5: expected a field (name: Type), a binding (name = value), a layer call (Dense(10)) or forward(...) { } in a model body
model M {
    input: Text
    1 + 2
}
