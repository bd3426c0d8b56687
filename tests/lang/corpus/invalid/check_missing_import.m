// expect: 2:1: cannot find the M file "no/such/file.m"
import "no/such/file.m"
