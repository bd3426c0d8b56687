import "lib/util.m"
import "lib/util.m" as u
from "lib/util.m" import twice, greet as hello
import python math
import python os.path as osp
print(util.twice(2), u.greet("m"), twice(5), hello("you"))
print(util is u, math.sqrt(16.0), osp.basename("/a/b.m"))
