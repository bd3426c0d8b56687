// expect: 2:28: "lib/helper.m" defines no 'helpr'
from "lib/helper.m" import helpr
