// A library module for imports.m.
loads = 0
func twice(x) {
    return x * 2
}
func greet(name) {
    return "hi " + name
}
print("util loaded")
