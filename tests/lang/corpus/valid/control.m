/* Control flow: if / else if / else, while, for, break, continue, `;` separators. */
func classify(n) {
    if n < 0 {
        return "negative"
    } else if n == 0 {
        return "zero"
    } else {
        return "positive"
    }
}
print(classify(-3), classify(0), classify(4))
i = 0
while true {
    i += 1
    if i % 2 == 0 {
        continue
    }
    if i > 7 {
        break
    }
    print("odd", i)
}
total = 0
for k, v in {a: 1, b: 2}.items() {
    total += v
    print(k)
}
print(total)
for row in [[1, 2], [3, 4]] {
    for item in row {
        if item == 3 {
            break
        }
        print(item)
    }
}
if false {
} else {
    print("empty blocks are fine")
}
