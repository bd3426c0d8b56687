// expect: 4:5: field 'size' is declared twice in metamodel 'M'
metamodel M {
    size: int
    size: int = 2
}
