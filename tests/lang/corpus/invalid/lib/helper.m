func helper() {
    return 1
}
