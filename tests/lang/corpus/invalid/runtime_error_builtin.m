// expect: 3:5: no data in x.csv
func load(path) {
    error("no data in " + path)
}
load("x.csv")
