// expect: 1:1: import cycle: check_import_cycle.m → cycle_b.m → cycle_c.m → check_import_cycle.m
import "lib/cycle_b.m"
